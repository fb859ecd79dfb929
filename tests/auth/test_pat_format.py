"""Personal access token format, storage digest, comparison, scopes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from taskhub.auth.pat_format import (
    SCOPES,
    InvalidScopes,
    generate_token,
    looks_like_token,
    parse_scopes,
    token_digest,
    token_matches,
)


def test_token_has_the_prefix_and_256_random_bits() -> None:
    new = generate_token()
    assert new.token.startswith("th_pat_")
    secret = new.token.removeprefix("th_pat_")
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert looks_like_token(new.token)


def test_tokens_are_unique() -> None:
    assert len({generate_token().token for _ in range(1000)}) == 1000


def test_only_the_sha256_digest_is_kept() -> None:
    new = generate_token()
    assert new.digest == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in new.digest
    assert new.hint == f"th_pat_…{new.token[-4:]}"


def test_matching() -> None:
    new = generate_token()
    assert token_matches(new.token, new.digest)
    assert not token_matches(new.token + "x", new.digest)
    assert not token_matches(generate_token().token, new.digest)
    assert token_digest(new.token) == new.digest


@pytest.mark.parametrize(
    "value",
    [
        "",
        "th_pat_",
        "th_pat_short",
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "TH_PAT_" + "a" * 43,
        "th_pat_" + "a" * 42 + "!",
        "th_pat_" + "a" * 44,
    ],
)
def test_other_credentials_do_not_look_like_tokens(value: str) -> None:
    assert not looks_like_token(value)


def test_scopes_are_normalised_to_the_known_order() -> None:
    assert parse_scopes(["webhooks", "tasks:read", "tasks:read"]) == ("tasks:read", "webhooks")
    assert parse_scopes(SCOPES) == SCOPES


@pytest.mark.parametrize("scopes", [[], ["tasks:admin"], ["tasks:read", "TASKS:WRITE"], [""]])
def test_unknown_or_no_scopes_are_a_422(scopes: list[str]) -> None:
    with pytest.raises(InvalidScopes) as caught:
        parse_scopes(scopes)
    assert caught.value.status_code == 422
    assert caught.value.loc == ("body", "scopes")
