"""Who is browsing, CSRF checks, database sessions and rendering for the pages.

Each page opens its database sessions itself, one after the other (never two at once),
so a request holds at most one slot of the database gate.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.admin.guard import same_origin
from taskhub.auth import service as auth_service
from taskhub.auth.deactivation import ensure_active
from taskhub.db import Database
from taskhub.errors import DomainError, RateLimited, Unauthorized
from taskhub.settings import Settings
from taskhub.web import sessions

SESSION_COOKIE = "taskhub_session"
# Login CSRF (SPEC §8): the sign-in and sign-up forms have no session yet, so they carry
# the value of this pre-session cookie instead.
FORM_COOKIE = "taskhub_form"
CSRF_FIELD = "csrf"

# Autoescaping on for every template whatever its name: a title is text, never markup.
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        auto_reload=False,
    )
)


class SignInRequired(Exception):
    """No live session: the page answers with a redirect to the sign-in form."""


class CrossSiteRefused(Exception):
    """A state-changing request without this site's proof: nothing was done."""


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: uuid.UUID
    email: str
    session_id: uuid.UUID
    csrf: str


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    database = _database(request)
    async with database.gate, database.reader() as session:
        yield session


@asynccontextmanager
async def writing(request: Request) -> AsyncIterator[AsyncSession]:
    """One write transaction; the caller commits, anything else rolls back."""
    database = _database(request)
    async with database.gate, database.writer() as session:
        yield session


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def viewer(request: Request, session: AsyncSession | None = None) -> Viewer:
    """The signed-in person, checked on every request: session row and account state.

    Pass the page's reader `session` to spend one database session per page view.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInRequired
    if session is None:
        async with reading(request) as own:
            active = await sessions.resolve(own, cookie)
            user = await auth_service.find_user(own, active.user_id) if active else None
    else:
        active = await sessions.resolve(session, cookie)
        user = await auth_service.find_user(session, active.user_id) if active else None
    if active is None or user is None:
        raise SignInRequired
    try:
        # The same check as the API's caller dependency: a deactivated account is out at once.
        await ensure_active(request.app.state.deactivations, active.user_id)
    except Unauthorized:
        raise SignInRequired from None
    if sessions.is_stale(active):
        # Written once the page is done (PageRoute), never while its reader is open.
        request.state.stale_session = active
    me = Viewer(user_id=user.id, email=user.email, session_id=active.id, csrf=active.csrf_secret)
    request.state.viewer = me  # for error pages, which still show the signed-in header
    return me


async def checked_form(request: Request, expected: str | None) -> Mapping[str, str]:
    """The posted form, if it comes from one of our pages: same origin and the token.

    `expected` is the session's token, or None for the anonymous forms (the pre-session
    cookie's value is expected then).
    """
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if expected is None:
        expected = request.cookies.get(FORM_COOKIE) or ""
    sent = values.get(CSRF_FIELD, "")
    if (
        not same_origin(request.scope)
        or not expected
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CrossSiteRefused
    return values


def form_token(request: Request) -> str:
    """The pre-session token for an anonymous form (kept if the browser has one)."""
    current = request.cookies.get(FORM_COOKIE, "")
    return current if 20 <= len(current) <= 64 else secrets.token_urlsafe(24)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    context.setdefault("me", getattr(request.state, "viewer", None))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    # 303: the browser follows a POST's answer with a GET (post/redirect/get).
    return RedirectResponse(url, status_code=303)


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Invalid request",
    429: "Too many requests",
    503: "Unavailable",
}


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    title = ERROR_TITLES.get(status_code, "Error")
    return render(request, "error.html", {"title": title, "message": message}, status_code)


class PageRoute(APIRoute):
    """Pages answer in HTML: domain errors become error pages, no session a redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            response = await answer(request)
            stale = getattr(request.state, "stale_session", None)
            if stale is not None:
                async with writing(request) as session:
                    await sessions.touch(session, stale)
                    await session.commit()
            return response

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                to_signin = redirect("/signin")
                if SESSION_COOKIE in request.cookies:  # a dead session's cookie: drop it
                    to_signin.delete_cookie(SESSION_COOKIE, path="/")
                return to_signin
            except CrossSiteRefused:
                message = "This form came from another site or has expired. Nothing was changed."
                return error_page(request, 403, message)
            except RequestValidationError:
                return error_page(request, 400, "The address has an invalid parameter.")
            except RateLimited as exc:
                limited = error_page(request, 429, exc.detail)
                limited.headers["Retry-After"] = str(exc.retry_after)
                return limited
            except DomainError as exc:
                return error_page(request, exc.status_code, exc.detail)

        return page
