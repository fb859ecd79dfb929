"""`/admin`: sqladmin over the same models, for active superusers only."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqladmin import Admin
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware import Middleware

from taskhub.admin.auth import SuperuserAuth
from taskhub.admin.guard import SameOriginGuard
from taskhub.admin.views import VIEWS
from taskhub.settings import Settings


class _LateBoundSessions(async_sessionmaker[AsyncSession]):
    """Sessions on the engine the lifespan opens (sqladmin wants a factory up front)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(class_=AsyncSession, expire_on_commit=False)
        self._app = app

    def __call__(self, **local_kw: Any) -> AsyncSession:
        return super().__call__(bind=self._app.state.db.engine, **local_kw)


def mount_admin(app: FastAPI, settings: Settings) -> Admin:
    admin = Admin(
        app,
        session_maker=_LateBoundSessions(app),
        base_url="/admin",
        title="taskhub admin",
        authentication_backend=SuperuserAuth(app, settings),
        middlewares=[Middleware(SameOriginGuard)],
    )
    admin.admin.state.taskhub = app
    for view in VIEWS:
        # sqladmin stores the session factory on the view *class*: a subclass per app
        # keeps two apps in one process (tests, SQLite and PostgreSQL) on their own
        # databases instead of the last-mounted one's.
        admin.add_view(type(view.__name__, (view,), {"__module__": view.__module__}))
    return admin
