"""OWASP API9:2023 Improper Inventory Management.

The OpenAPI document is the inventory: every route the app serves is in it (bar the
documentation pages themselves), every documented operation is really served, each has
an explicit operation id and a tag, and only one API version exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount, Route

from taskhub import __version__
from taskhub.web import router as web_pages
from tests.owasp.support import operations, unknown_id
from tests.support.http import expect

# Served but deliberately not operations of the API: the documentation itself.
UNDOCUMENTED = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
}
# The admin panel's pages are for people, not operations of the API (tests/admin).
ADMIN_PREFIX = "/admin/"
ROOT_PATHS = {"/healthz", "/readyz", "/metrics", "/admin"}  # SPEC §2: root, unversioned
SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Route):  # APIRoute included
            for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
                yield method, prefix + route.path
        elif isinstance(route, Mount):
            yield from _walk(route.routes, prefix + route.path)
        elif hasattr(route, "original_router"):
            # FastAPI >= 0.160 keeps an included router as one lazy route.
            context = getattr(route, "include_context", None)
            yield from _walk(route.original_router.routes, prefix + getattr(context, "prefix", ""))
        else:
            raise AssertionError(f"unknown kind of route {route!r}: teach _walk about it")


def _served(app: FastAPI) -> set[tuple[str, str]]:
    return set(_walk(app.routes))


def _documented(app: FastAPI) -> set[tuple[str, str]]:
    return {(method, path) for method, path, _ in operations(app).values()}


def test_the_route_walk_sees_routes_of_included_routers(app: FastAPI) -> None:
    # Control for the next test: a walk that missed nested routers would pass it vacuously.
    assert {
        ("GET", "/api/v1/tasks"),
        ("PUT", "/api/v1/projects/{project_id}/members/{user_id}"),
    } <= _served(app)


def test_every_served_route_is_documented(app: FastAPI) -> None:
    # The web app's pages (taskhub/web) are for people too: HTML, not API operations.
    pages = set(_walk(web_pages.routes))
    assert ("GET", "/") in pages
    undocumented = {
        route
        for route in _served(app) - _documented(app) - pages
        if not route[1].startswith(ADMIN_PREFIX)
    }

    assert undocumented == UNDOCUMENTED


def test_no_documented_operation_is_missing_from_the_app(app: FastAPI) -> None:
    assert _documented(app) <= _served(app)


async def test_every_documented_operation_answers_at_its_path(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    unanswered = {}
    for operation_id, (method, template, _) in operations(app).items():
        response = await client.request(method, re.sub(r"\{[^}]+\}", unknown_id(), template))
        # Anonymous: protected routes answer 401 before anything else (SPEC §2), open ones
        # validate their empty body or answer. None may fall through to the router's 404/405.
        if response.status_code == 405 or response.text == '{"detail":"Not Found"}':
            unanswered[operation_id] = response.status_code

    assert unanswered == {}


def test_every_operation_has_a_snake_case_id_and_a_tag(app: FastAPI) -> None:
    bad = [
        f"{method} {path}"
        for operation_id, (method, path, operation) in operations(app).items()
        if not SNAKE.fullmatch(operation_id) or not operation.get("tags")
    ]

    assert bad == []


def test_every_documented_path_is_in_api_v1_or_a_spec_root_path(app: FastAPI) -> None:
    stray = {
        path
        for _, path in _documented(app)
        if not path.startswith("/api/v1/") and path not in ROOT_PATHS
    }

    assert stray == set()


@pytest.mark.parametrize("prefix", ["/api/v0", "/api/v2", "/api", "/v1", "/api/latest"])
async def test_no_other_api_version_is_served(client: httpx.AsyncClient, prefix: str) -> None:
    assert expect(await client.get(f"{prefix}/tasks"), 404) == {"detail": "Not Found"}


async def test_the_published_document_is_the_apps_and_names_its_version(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await client.get("/openapi.json")

    assert response.json() == app.openapi()
    assert response.json()["info"]["version"] == __version__
    assert not any(op.get("deprecated") for _, _, op in operations(app).values())
