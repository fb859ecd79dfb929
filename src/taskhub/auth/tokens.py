"""Access tokens (JWT) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "taskhub"
_JWT_OPTIONS: Any = {"require": ["exp", "iat", "sub", "typ"]}


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    expires_at: int


def issue_access_token(user_id: uuid.UUID, secret: str, ttl_seconds: int) -> str:
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": ISSUER,
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: str) -> AccessClaims | None:
    """The claims of a valid, unexpired access token; None for anything else.

    The algorithm list is fixed, so `alg: none` and key-confusion tokens are rejected
    by PyJWT before the signature is even considered.
    """
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options=_JWT_OPTIONS
        )
        if payload.get("typ") != "access":
            return None
        return AccessClaims(user_id=uuid.UUID(str(payload["sub"])), expires_at=int(payload["exp"]))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None


class AccessTokenVerifier:
    """`decode_access_token` with a bounded cache of tokens already verified.

    A client sends the same token on every request until it expires; verifying the
    HMAC and parsing the claims each time was ~8% of a GET's CPU. Only successes are
    cached, keyed by the whole token string, and expiry is re-checked on every hit, so
    the cache can never accept a token that verification would refuse.
    """

    def __init__(self, secret: str, max_entries: int = 10_000) -> None:
        self._secret = secret
        self._max_entries = max_entries
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    def verify(self, token: str) -> AccessClaims | None:
        claims = self._verified.get(token)
        if claims is not None:
            if claims.expires_at > time.time():
                return claims
            del self._verified[token]
            return None
        claims = decode_access_token(token, self._secret)
        if claims is not None:
            self._verified[token] = claims
            if len(self._verified) > self._max_entries:
                self._verified.popitem(last=False)
        return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # Refresh tokens carry 256 bits of entropy, so a fast hash is enough: nobody can
    # brute-force them, and a leaked table holds nothing usable.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
