"""Web app fixtures: browsers-in-miniature that keep cookies and send a page's Origin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.support.app import make_client
from tests.support.factories import User

ORIGIN = "http://testserver"
# What a browser sends with a form post from one of our pages.
SAME_ORIGIN = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html[:2000]
    return found.group(1)


def errors_of(html: str) -> dict[str, str]:
    """Field name -> the error shown next to it (the `f-<name>-error` paragraph)."""
    return dict(re.findall(r'<p class="error" id="f-([a-z_]+)-error">([^<]*)</p>', html))


def value_of(html: str, name: str) -> str | None:
    """The value an input or textarea named `name` shows."""
    tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', html)
    if tag is not None:
        value = re.search(r'value="([^"]*)"', tag.group(0))
        return value.group(1) if value else ""
    area = re.search(rf'<textarea [^>]*name="{name}"[^>]*>([^<]*)</textarea>', html)
    return area.group(1) if area else None


async def sign_in(http: httpx.AsyncClient, user: User) -> httpx.Response:
    page = await http.get("/signin")
    assert page.status_code == 200, page.text
    return await http.post(
        "/signin",
        data={"csrf": csrf_of(page.text), "email": user.email, "password": user.password},
        headers=SAME_ORIGIN,
    )


async def page_token(http: httpx.AsyncClient, path: str = "/") -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


Browser = Callable[[User], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    """Signed-in clients, one per user, closed at the end of the test."""
    clients: list[httpx.AsyncClient] = []

    async def open_for(user: User) -> httpx.AsyncClient:
        http = make_client(app)
        clients.append(http)
        signed_in = await sign_in(http, user)
        assert signed_in.status_code == 303, signed_in.text
        return http

    yield open_for
    for http in clients:
        await http.aclose()
