"""Personal access tokens (SPEC §10): format, storage hash, comparison, scopes.

`th_pat_` + 43 URL-safe characters (secrets.token_urlsafe(32): 256 random bits). The
prefix lets secret scanners find leaked tokens. Only the SHA-256 of a token is stored:
a slow password hash buys nothing against 256 random bits and would cost every
request; lookup is by that digest, and the final comparison is constant-time anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from taskhub.errors import Invalid

TOKEN_PREFIX = "th_pat_"  # noqa: S105 - the public prefix, not a secret
TOKEN_BYTES = 32
SCOPES = ("tasks:read", "tasks:write", "projects:read", "projects:write", "webhooks")
_TOKEN_SHAPE = re.compile(r"^th_pat_[A-Za-z0-9_-]{43}$")


class InvalidScopes(Invalid, ValueError):
    """Scopes a token cannot have: 422 from a service, ValueError in a schema."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, loc=("body", "scopes"))


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly minted token: `token` is shown once, only `digest` is stored."""

    token: str
    digest: str

    @property
    def hint(self) -> str:
        """What a token list may show to tell tokens apart: prefix and last 4 chars."""
        return f"{TOKEN_PREFIX}…{self.token[-4:]}"


def generate_token() -> NewToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    return NewToken(token=token, digest=token_digest(token))


def looks_like_token(value: str) -> bool:
    """Whether a bearer credential is a PAT (and not a JWT): decides which check runs."""
    return _TOKEN_SHAPE.match(value) is not None


def token_digest(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, digest: str) -> bool:
    """Constant-time check of a presented token against a stored digest."""
    return hmac.compare_digest(token_digest(token).encode(), digest.encode())


def parse_scopes(values: Iterable[str]) -> tuple[str, ...]:
    """Known, non-empty scopes without duplicates, in SCOPES order."""
    requested = list(values)
    unknown = sorted({v for v in requested if v not in SCOPES})
    if unknown:
        raise InvalidScopes(f"Unknown scopes: {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not requested:
        raise InvalidScopes("A token needs at least one scope")
    return tuple(scope for scope in SCOPES if scope in requested)
