"""SPEC §2: authentication comes first (issue 9 §1).

A request without valid credentials to any /api/v1 route but register/token/refresh/
logout is 401 with `WWW-Authenticate: Bearer`, whether or not the target exists, and
before its body is parsed, validated or even measured.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from taskhub.auth.tokens import AccessClaims, AccessTokenVerifier, issue_access_token
from taskhub.settings import secret_of
from tests.owasp.support import operations, unknown_id
from tests.support.factories import MakeUser

ANONYMOUS = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
}
GARBAGE = b"\xff\xfe not JSON {"
ONE_MIB = 1024 * 1024


def _authenticated(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented /api/v1 operation that declares the bearer scheme."""
    return sorted(
        (method, re.sub(r"\{[^}]+\}", unknown_id(), path))
        for method, path, operation in operations(app).values()
        if path.startswith("/api/v1/") and operation.get("security")
    )


CREDENTIALS = ["none", "malformed", "empty-bearer", "other-scheme", "expired", "wrong-key"]


def _credentials(app: FastAPI) -> dict[str, dict[str, str]]:
    expired = issue_access_token(uuid.uuid4(), secret_of(app.state.settings), ttl_seconds=-60)
    forged = issue_access_token(uuid.uuid4(), "another-secret-" + "y" * 40, 900)
    return {
        "none": {},
        "malformed": {"Authorization": "Bearer x.y.z"},
        "empty-bearer": {"Authorization": "Bearer "},
        "other-scheme": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "wrong-key": {"Authorization": f"Bearer {forged}"},
    }


def _assert_401(response: httpx.Response) -> None:
    request = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == 401, f"{request}: {response.status_code} {response.text}"
    assert response.headers["www-authenticate"] == "Bearer", request
    assert response.json() == {"detail": "Not authenticated"}, request


def test_the_walk_covers_every_api_operation_but_the_anonymous_four(app: FastAPI) -> None:
    # Control: every /api/v1 operation is either one of SPEC §3's anonymous routes or
    # declares the bearer scheme, so the tests below see every authenticated route.
    open_operations = {
        (method, path)
        for method, path, operation in operations(app).values()
        if path.startswith("/api/v1/") and not operation.get("security")
    }

    assert open_operations == ANONYMOUS
    assert len(_authenticated(app)) >= 12


@pytest.mark.parametrize("credentials", CREDENTIALS)
async def test_every_authenticated_route_is_401_before_its_body_is_parsed(
    client: httpx.AsyncClient, app: FastAPI, credentials: str
) -> None:
    headers = {**_credentials(app)[credentials], "Content-Type": "application/json"}
    for method, path in _authenticated(app):
        response = await client.request(method, path, content=GARBAGE, headers=headers)

        _assert_401(response)


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded"]
)
async def test_a_broken_body_to_create_task_without_credentials_is_401(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/api/v1/tasks", content=b"{'title': ", headers={"Content-Type": content_type}
    )

    _assert_401(response)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1", "/api/v1/", "/api/v1/nowhere", "/api/v1/tasks/x/y/z", "/api/v1/auth/nowhere"],
)
async def test_a_path_under_api_v1_is_401_whether_or_not_it_exists(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, content=GARBAGE)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_with_credentials_an_unknown_path_is_404_and_a_wrong_method_405(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()

    missing = await client.get("/api/v1/nowhere", headers=alice.headers)
    wrong_method = await client.put("/api/v1/tasks", headers=alice.headers)

    assert missing.status_code == 404, missing.text
    assert wrong_method.status_code == 405, wrong_method.text


async def test_a_body_over_the_limit_without_credentials_is_401_not_413(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/tasks",
        content=b'{"title": "' + b"x" * (2 * ONE_MIB) + b'"}',
        headers={"Content-Type": "application/json"},
    )

    _assert_401(response)


async def test_a_valid_token_with_a_broken_body_reaches_validation(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()

    response = await client.post(
        "/api/v1/tasks",
        content=b"{'title': ",
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text


@pytest.mark.parametrize(("method", "path"), sorted(ANONYMOUS))
async def test_the_anonymous_routes_validate_without_credentials(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(
        method, path, content=b"{'not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text


async def test_a_trailing_slash_does_not_make_an_anonymous_route_of_a_protected_one(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/auth/register/../../tasks", json={"title": "t"})

    assert response.status_code == 401, response.text


class CountingVerifier(AccessTokenVerifier):
    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.calls = 0

    def verify(self, token: str) -> AccessClaims | None:
        self.calls += 1
        return super().verify(token)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/api/v1/tasks", None), ("POST", "/api/v1/tasks", {"title": "t"})],
)
async def test_a_token_is_verified_once_per_request(
    client: httpx.AsyncClient,
    app: FastAPI,
    make_user: MakeUser,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    alice = await make_user()
    real = app.state.verifier
    # Not monkeypatch: it would restore a starlette State attribute by deleting it.
    app.state.verifier = counting = CountingVerifier(secret_of(app.state.settings))
    try:
        response = await client.request(method, path, json=body, headers=alice.headers)
    finally:
        app.state.verifier = real

    assert response.status_code in (200, 201), response.text
    assert counting.calls == 1
