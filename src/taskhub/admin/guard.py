"""Cross-site request refusal for the admin (its forms and actions carry no CSRF token).

sqladmin changes data with POST and DELETE, and runs "actions" (deactivate, retry) as
GET links. The session cookie is SameSite=Lax, which stops cross-site POSTs but not a
cross-site top-level GET, so every request that can change something must prove it
comes from an admin page: an `Origin` naming this host, or `Sec-Fetch-Site:
same-origin`, or (browsers that send neither on plain-HTTP GETs) a `Referer` on this
host; the admin's pages send Referers to their own origin only. Anything else is 403.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORBIDDEN = b'{"detail":"Cross-site request refused"}'


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {bytes(k): bytes(v) for k, v in scope["headers"]}


def _changes_state(scope: Scope) -> bool:
    return scope["method"] not in SAFE_METHODS or "/action/" in scope["path"]


def same_origin(scope: Scope) -> bool:
    """True when the request provably comes from a page of this host."""
    headers = _headers(scope)
    host = headers.get(b"host", b"").decode("latin-1").lower()
    fetch_site = headers.get(b"sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == b"same-origin"
    for name in (b"origin", b"referer"):
        value = headers.get(name)
        if value is not None and value != b"null":
            return bool(host) and urlsplit(value.decode("latin-1")).netloc.lower() == host
    return False


class SameOriginGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _changes_state(scope) and not same_origin(scope):
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(FORBIDDEN)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": FORBIDDEN})
            return
        await self.app(scope, receive, send)
