"""The web app for people at `/` (SPEC §8): server-rendered pages on the same services.

Pages take a server-side session cookie (never accepted by /api/v1, which stays
bearer-only), carry a CSRF token in every form, and render with Jinja2 autoescaping.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from taskhub.web.pages import router

STATIC_PATH = "/static/web"


def install_web(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(
        STATIC_PATH, StaticFiles(directory=Path(__file__).parent / "static"), name="web-static"
    )


__all__ = ["STATIC_PATH", "install_web", "router"]
