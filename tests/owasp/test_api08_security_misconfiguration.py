"""OWASP API8:2023 Security Misconfiguration.

SPEC §2's hardening headers on every answer, whatever its status (tests/test_http_
conventions.py checks them on a few successes); `Cache-Control: no-store` on every API
answer; no stack trace, driver name or file path in any error; CORS closed unless
configured, and then only for exactly the configured origins; a strict CSP for the API and
a separate one for the docs pages.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from taskhub.app import create_app
from tests.owasp.support import unknown_id
from tests.support.app import build_settings, make_client, running
from tests.support.factories import MakeTask, User

JSON = {"Content-Type": "application/json"}
LEAK = re.compile(
    r"Traceback|File \"|\.py\b|line \d+|sqlalchemy|asyncpg|aiosqlite|sqlite3|psycopg|"
    r"starlette|pydantic\.|uvicorn|/work/|site-packages|Exception|Error:",
    re.IGNORECASE,
)


async def _errors(client: httpx.AsyncClient, alice: User, task_id: str) -> list[httpx.Response]:
    """One answer of each error status a client can provoke, on API and root paths."""
    h = alice.headers
    return [
        await client.get("/api/v1/tasks"),  # 401
        await client.get("/api/v1/tasks", headers={"Authorization": "Bearer x.y.z"}),  # 401
        await client.delete(f"/api/v1/projects/{unknown_id()}", headers=h),  # 404
        await client.get("/api/v1/nowhere", headers=h),  # 404 (no route)
        await client.get("/nowhere"),  # 404 at the root
        await client.put("/api/v1/tasks", headers=h),  # 405
        await client.patch(f"/api/v1/tasks/{task_id}", json={"title": ""}, headers=h),  # 422
        await client.post("/api/v1/tasks", content=b'{"title": ', headers={**h, **JSON}),
        await client.post("/api/v1/tasks", content=b"\xff\xfe", headers={**h, **JSON}),
        await client.get("/api/v1/tasks", params={"cursor": "!!"}, headers=h),  # 422
        await client.patch(
            f"/api/v1/tasks/{task_id}", json={"done": True}, headers={**h, "If-Match": '"9"'}
        ),  # 412
        await client.post(
            "/api/v1/tasks", content=b"x" * (2 * 1024 * 1024), headers={**h, **JSON}
        ),  # 413
        await client.post("/api/v1/auth/token", data={"username": "a@b.co", "password": "x"}),
    ]


async def test_every_error_answer_carries_the_hardening_headers(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    answers = await _errors(client, alice, task["id"])

    assert {a.status_code for a in answers} == {401, 404, 405, 412, 413, 422}, [
        a.text for a in answers
    ]
    for a in answers:
        assert "server" not in a.headers, a.request.url
        assert a.headers["x-content-type-options"] == "nosniff"
        assert a.headers["x-frame-options"] == "DENY"
        assert a.headers["referrer-policy"] == "no-referrer"
        assert a.headers["content-type"].startswith("application/json")


async def test_no_error_body_reveals_internals(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    answers = await _errors(client, alice, task["id"])

    leaks = {str(a.request.url): a.text[:300] for a in answers if LEAK.search(a.text)}
    assert leaks == {}


async def test_every_api_answer_is_no_store_whatever_its_method_and_status(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    h = alice.headers

    answers = [
        await client.get("/api/v1/tasks", headers=h),
        await client.post("/api/v1/tasks", json={"title": "t"}, headers=h),
        await client.get(f"/api/v1/tasks/{task['id']}", headers=h),
        await client.patch(f"/api/v1/tasks/{task['id']}", json={"done": True}, headers=h),
        await client.get("/api/v1/projects", headers=h),
        await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token}),
        await client.delete(f"/api/v1/tasks/{task['id']}", headers=h),
        await client.get(f"/api/v1/tasks/{task['id']}", headers=h),  # 404 after delete
        *await _errors(client, alice, task["id"]),
    ]

    api = [a for a in answers if a.request.url.path.startswith("/api/")]
    assert len(api) == len(answers) - 1  # all but /nowhere
    assert {a.headers.get("cache-control") for a in api} == {"no-store"}


async def test_production_mode_does_not_serve_debug_pages(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/nowhere", headers={"Accept": "text/html"}),
        await client.get("/api/v1/tasks", headers={"Accept": "text/html"}),
    ]

    assert [a.headers["content-type"] for a in answers] == ["application/json"] * 2
    assert all("<html" not in a.text.lower() for a in answers)


# --- CORS -----------------------------------------------------------------------------------

ORIGIN = "https://app.example.com"
LOOKALIKES = [
    "null",
    "https://app.example.com.evil.net",
    "https://evilapp.example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://APP.example.com.evil.net",
]


@pytest.fixture
async def cors_client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = build_settings(database_url, tmp_path, cors_origins=[ORIGIN])
    async with running(create_app(settings)) as app, make_client(app) as client:
        yield client


@pytest.mark.parametrize("origin", ["null", ORIGIN, "https://evil.example.net"])
async def test_by_default_no_origin_is_allowed_even_on_credentialed_requests(
    client: httpx.AsyncClient, alice: User, origin: str
) -> None:
    response = await client.get(
        "/api/v1/users/me", headers={**alice.headers, "Origin": origin, "Cookie": "a=b"}
    )

    assert response.status_code == 200, response.text
    assert not any(k.startswith("access-control-") for k in response.headers)


@pytest.mark.parametrize("origin", LOOKALIKES)
async def test_a_lookalike_of_the_configured_origin_is_refused(
    cors_client: httpx.AsyncClient, origin: str
) -> None:
    simple = await cors_client.get("/healthz", headers={"Origin": origin})
    preflight = await cors_client.options(
        "/api/v1/tasks",
        headers={"Origin": origin, "Access-Control-Request-Method": "DELETE"},
    )

    assert "access-control-allow-origin" not in simple.headers
    assert preflight.headers.get("access-control-allow-origin") != origin
    assert preflight.status_code != 200, preflight.text


async def test_the_configured_origin_is_never_allowed_credentials_by_wildcard(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.get("/healthz", headers={"Origin": ORIGIN})

    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers.get("access-control-allow-origin") != "*"
    assert response.headers.get("access-control-allow-credentials") != "true"


# --- CSP ------------------------------------------------------------------------------------


async def test_api_answers_have_a_csp_that_allows_nothing(
    client: httpx.AsyncClient, alice: User
) -> None:
    answers = [
        await client.get("/api/v1/users/me", headers=alice.headers),
        await client.get("/openapi.json"),
        await client.get("/healthz"),
    ]

    policies = {a.headers["content-security-policy"] for a in answers}
    assert policies == {"default-src 'none'; frame-ancestors 'none'"}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_get_their_own_csp_still_without_framing_or_eval(
    client: httpx.AsyncClient, path: str
) -> None:
    api = await client.get("/healthz")

    docs = await client.get(path)

    policy = docs.headers["content-security-policy"]
    assert policy != api.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy
    assert "*" not in policy.replace("*.", "")
