"""The admin's sign-in: a superuser's email and password, re-checked on every request."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from fastapi import FastAPI
from sqladmin.authentication import AuthenticationBackend
from starlette.requests import Request

from taskhub.auth import service
from taskhub.db import Database
from taskhub.errors import RateLimited, Unauthorized
from taskhub.ops.logging import get_logger
from taskhub.settings import Settings, secret_of

SESSION_KEY = "admin_user_id"
SESSION_COOKIE = "taskhub_admin"
SESSION_MAX_AGE_SECONDS = 8 * 3600

log = get_logger("taskhub.admin")


def session_secret(settings: Settings) -> str:
    # Derived, so a session cookie and an access token never share a signing key.
    return hashlib.sha256(b"taskhub-admin-session\x00" + secret_of(settings).encode()).hexdigest()


class SuperuserAuth(AuthenticationBackend):
    """Signed-cookie sessions for active superusers; anyone else gets the sign-in page."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        super().__init__(
            secret_key=session_secret(settings),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE_SECONDS,
            path="/admin",
            same_site="lax",
            https_only=settings.secure_cookies,
        )
        # sqladmin runs as a mounted Starlette app: request.app is not ours.
        self._app = app
        self._settings = settings

    async def login(self, request: Request) -> bool:
        form = await request.form()
        email, password = form.get("username"), form.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            return False
        state = self._app.state
        database: Database = state.db
        address = request.client.host if request.client else "unknown"
        try:
            async with database.reader() as session:
                user = await service.authenticate(
                    session,
                    state.hasher,
                    service.LoginGuard(state.limiter, self._settings),
                    email=email,
                    password=password,
                    address=address,
                )
        except (Unauthorized, RateLimited):
            return False
        if not user.is_superuser:
            log.warning("admin_login_refused", user_id=str(user.id), reason="not a superuser")
            return False
        request.session.clear()
        request.session[SESSION_KEY] = str(user.id)
        log.info("admin_login", admin_id=str(user.id))
        return True

    async def logout(self, request: Request) -> bool:
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        user_id = self._session_user(request)
        if user_id is None:
            return False
        database: Database = self._app.state.db
        async with database.reader() as session:
            user = await service.find_user(session, user_id)
        # Checked on every request: a deactivated or demoted admin is out at once.
        if user is None or not user.is_active or not user.is_superuser:
            request.session.clear()
            return False
        return True

    async def get_user_id(self, request: Request) -> Any:
        user_id = self._session_user(request)
        return str(user_id) if user_id else None

    @staticmethod
    def _session_user(request: Request) -> uuid.UUID | None:
        raw = request.session.get(SESSION_KEY)
        try:
            return uuid.UUID(raw) if isinstance(raw, str) else None
        except ValueError:
            return None
