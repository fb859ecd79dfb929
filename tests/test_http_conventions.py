"""SPEC §2 conventions every route shares: headers, CORS, bodies, errors, outages, docs."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskhub.app import create_app
from taskhub.settings import Settings
from tests.ops.support import dead_database_url
from tests.support.app import build_settings, make_client, running
from tests.support.factories import MakeUser, User
from tests.support.http import expect

ONE_MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


# --- security headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/healthz", None),
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
        ("GET", "/no-such-page", None),
        ("GET", "/api/v1/tasks", None),
        ("POST", "/api/v1/auth/register", b"{}"),
        ("POST", "/api/v1/auth/register", b"x" * (ONE_MIB + 1)),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, method: str, path: str, body: bytes | None
) -> None:
    response = await client.request(method, path, content=body, headers=JSON)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers


async def test_authenticated_responses_are_not_cached(
    client: httpx.AsyncClient, alice: User
) -> None:
    response = await client.get("/api/v1/users/me", headers=alice.headers)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


async def test_token_responses_are_not_cached(client: httpx.AsyncClient, alice: User) -> None:

    response = await client.post(
        "/api/v1/auth/token", data={"username": alice.email, "password": alice.password}
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


# --- CORS -------------------------------------------------------------------------------

APP_ORIGIN = "https://app.example.com"
FOREIGN_ORIGIN = "https://evil.example.net"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
async def cors_client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app on the test database that allows APP_ORIGIN."""
    configured = build_settings(
        settings.effective_database_url, tmp_path, cors_origins=[APP_ORIGIN]
    )
    async with running(create_app(configured)) as app, make_client(app) as client:
        yield client


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Origin": FOREIGN_ORIGIN})

    assert "access-control-allow-origin" not in response.headers


async def test_cors_preflight_is_refused_by_default(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/v1/tasks", headers={"Origin": FOREIGN_ORIGIN, **PREFLIGHT}
    )

    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_a_configured_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.get("/healthz", headers={"Origin": APP_ORIGIN})

    assert response.headers["access-control-allow-origin"] == APP_ORIGIN


async def test_cors_preflight_succeeds_for_a_configured_origin(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.options(
        "/api/v1/tasks", headers={"Origin": APP_ORIGIN, **PREFLIGHT}
    )

    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed


async def test_cors_still_refuses_other_origins_when_one_is_configured(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.get("/healthz", headers={"Origin": FOREIGN_ORIGIN})

    assert "access-control-allow-origin" not in response.headers


# --- request bodies ---------------------------------------------------------------------


async def test_a_body_over_1_mib_with_content_length_is_413(
    client: httpx.AsyncClient, alice: User
) -> None:
    body = json.dumps({"title": "t", "description": "d" * ONE_MIB}).encode()

    response = await client.post("/api/v1/tasks", content=body, headers={**alice.headers, **JSON})

    assert response.status_code == 413, response.text
    assert isinstance(response.json()["detail"], str)


async def test_a_chunked_body_over_1_mib_without_content_length_is_413(
    client: httpx.AsyncClient, alice: User
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "t", "description": "'
        for _ in range(20):
            yield b"d" * 64 * 1024
        yield b'"}'

    response = await client.post(
        "/api/v1/tasks", content=chunks(), headers={**alice.headers, **JSON}
    )

    assert response.status_code == 413, response.text
    assert isinstance(response.json()["detail"], str)


async def test_an_anonymous_body_over_1_mib_is_413(client: httpx.AsyncClient) -> None:
    expect(
        await client.post("/api/v1/auth/register", content=b"x" * (ONE_MIB + 1), headers=JSON), 413
    )


async def test_a_body_of_exactly_1_mib_is_not_413(client: httpx.AsyncClient, alice: User) -> None:
    shell = b'{"title": "t", "description": ""}'
    body = shell.replace(b'""', b'"' + b"d" * (ONE_MIB - len(shell)) + b'"')
    assert len(body) == ONE_MIB

    response = await client.post("/api/v1/tasks", content=body, headers={**alice.headers, **JSON})

    # The description is too long, but it was read.
    assert response.status_code == 422, response.text


async def _post_task(client: httpx.AsyncClient, user: User, body: bytes) -> httpx.Response:
    return await client.post("/api/v1/tasks", content=body, headers={**user.headers, **JSON})


@pytest.mark.parametrize(
    "body",
    [b'{"title": ', b"{'title': 'single quotes'}", b'{"title": "x",}'],
)
async def test_malformed_json_is_422_in_fastapi_shape(
    client: httpx.AsyncClient, alice: User, body: bytes
) -> None:
    response = await _post_task(client, alice, body)

    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert errors
    assert {"loc", "msg", "type"} <= set(errors[0])


@pytest.mark.parametrize(
    "body",
    [
        # Not UTF-8.
        pytest.param(b'{"title": "caf\xe9"}', id="latin-1"),
        pytest.param(b"\xff\xfe{\x00}", id="utf-16-bom"),
        pytest.param(b'{"title": "\xc3\x28"}', id="invalid-continuation"),
        # Valid JSON of the wrong top-level type.
        *(b'["title"]', b'"title"', b"42", b"null"),
    ],
)
async def test_a_body_not_utf8_or_not_an_object_is_422(
    client: httpx.AsyncClient, alice: User, body: bytes
) -> None:
    assert expect(await _post_task(client, alice, body), 422)["detail"][0]["loc"][0] == "body"


async def test_wrong_top_level_type_on_an_anonymous_route_is_422(
    client: httpx.AsyncClient,
) -> None:
    expect(await client.post("/api/v1/auth/refresh", content=b"[1, 2]", headers=JSON), 422)


async def test_deeply_nested_json_is_422(client: httpx.AsyncClient, alice: User) -> None:
    body = b'{"title": "t", "labels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    expect(await _post_task(client, alice, body), 422)


async def test_a_json_body_sent_as_text_plain_is_422(
    client: httpx.AsyncClient, alice: User
) -> None:
    expect(
        await client.post(
            "/api/v1/tasks",
            content=b'{"title": "t"}',
            headers={**alice.headers, "Content-Type": "text/plain"},
        ),
        422,
    )


async def test_a_422_does_not_echo_a_large_input(client: httpx.AsyncClient, alice: User) -> None:
    marker = "LARGE-INPUT-" * 40_000  # ~480 KB, a title far over 200 characters

    response = await client.post("/api/v1/tasks", json={"title": marker}, headers=alice.headers)

    assert response.status_code == 422, response.text
    assert len(response.content) < 2048
    assert "LARGE-INPUT-" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "hunter2-SECRET-pw"},
        {"email": "a@example.com", "password": "SECRET-" * 50},
        {"email": "a@example.com", "password": "SECRET"},
        {"email": "a@example.com", "password": ["SECRET-in-a-list"]},
        {"email": "a@example.com", "password": "hunter2-SECRET-pw", "is_superuser": "SECRET"},
    ],
    ids=["bad-email", "too-long", "too-short", "wrong-type", "unknown-field"],
)
async def test_a_422_never_echoes_a_password(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/api/v1/auth/register", json=body)

    assert response.status_code == 422, response.text
    assert "SECRET" not in response.text


# --- database outage --------------------------------------------------------------------


@pytest.fixture
async def outage_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app (same secret as the test app) whose database is unreachable."""
    settings = build_settings(dead_database_url(tmp_path), tmp_path)
    async with running(create_app(settings)) as app, make_client(app) as client:
        yield client


async def test_a_database_outage_on_an_authenticated_route_is_503(
    outage_client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()  # a valid token, issued while the database was up

    response = await outage_client.get("/api/v1/tasks", headers=alice.headers)

    assert response.status_code == 503, response.text
    assert isinstance(response.json()["detail"], str)


async def test_a_database_outage_during_a_write_is_503(
    alice: User, outage_client: httpx.AsyncClient
) -> None:
    expect(
        await outage_client.post("/api/v1/tasks", json={"title": "lost?"}, headers=alice.headers),
        503,
    )


async def test_a_database_outage_on_login_is_503(outage_client: httpx.AsyncClient) -> None:
    expect(
        await outage_client.post(
            "/api/v1/auth/token", data={"username": "a@example.com", "password": "whatever-123"}
        ),
        503,
    )


# --- OpenAPI ----------------------------------------------------------------------------

SPEC_ROUTES = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/users/me"),
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{task_id}"),
    ("patch", "/api/v1/tasks/{task_id}"),
    ("delete", "/api/v1/tasks/{task_id}"),
    ("post", "/api/v1/projects"),
    ("get", "/api/v1/projects"),
    ("get", "/api/v1/projects/{project_id}"),
    ("patch", "/api/v1/projects/{project_id}"),
    ("delete", "/api/v1/projects/{project_id}"),
    ("get", "/api/v1/projects/{project_id}/members"),
    ("put", "/api/v1/projects/{project_id}/members/{user_id}"),
    ("delete", "/api/v1/projects/{project_id}/members/{user_id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


async def _operations(client: httpx.AsyncClient) -> dict[tuple[str, str], dict[str, Any]]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    return {
        (method, path): operation
        for path, item in response.json()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


async def test_openapi_lists_every_spec_route(client: httpx.AsyncClient) -> None:
    operations = await _operations(client)

    assert set(operations) >= SPEC_ROUTES


async def test_every_openapi_operation_has_a_unique_operation_id(
    client: httpx.AsyncClient,
) -> None:
    operations = await _operations(client)

    ids = [operation.get("operationId") for operation in operations.values()]
    assert all(ids)
    assert len(ids) == len(set(ids))


async def test_openapi_documents_bearer_authentication(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    schemes = response.json()["components"]["securitySchemes"]
    assert any(
        scheme.get("type") == "oauth2" and "password" in scheme.get("flows", {})
        for scheme in schemes.values()
    )


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_interactive_docs_are_html(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_load_only_same_origin_scripts_and_no_inline_script(
    client: httpx.AsyncClient, path: str
) -> None:
    # Offline docs (SPEC §8): every asset is served by the app itself, and the CSP
    # allows scripts from nowhere else (the browser check is tests/browser/test_docs.py).
    response = await client.get(path)

    directives = {
        name: rest.split()
        for name, _, rest in (
            part.strip().partition(" ")
            for part in response.headers["content-security-policy"].split(";")
        )
    }
    sources = re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', response.text)
    assert sources, "the page loads no asset: update this test"
    assert all(src.startswith("/") and not src.startswith("//") for src in sources), sources
    assert re.search(r"<script\b[^>]*>\s*[^<\s]", response.text) is None, "an inline script"
    assert directives["script-src"] == ["'self'"]
    for asset in sources:
        served = await client.get(asset)
        assert served.status_code == 200, asset
