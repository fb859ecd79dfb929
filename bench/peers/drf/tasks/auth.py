"""DRF's TokenAuthentication answering to `Authorization: Bearer <key>`.

DRF documents subclassing with `keyword` for exactly this; it lets the peer and taskhub
share the benchmark's wrk scripts unchanged.
"""

from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"
