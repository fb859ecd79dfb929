"""Every error answer in one place: domain exceptions, bad requests, database outages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from taskhub.errors import DomainError, Invalid, RateLimited, Unauthorized
from taskhub.ops.logging import get_logger

log = get_logger(__name__)

BEARER = {"WWW-Authenticate": "Bearer"}


def _sanitized(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors without `input`/`ctx`: never echo a huge body or a password back."""
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, Invalid):
        body: dict[str, Any] = {
            "detail": [{"loc": list(exc.loc), "msg": exc.detail, "type": "value_error"}]
        }
        return JSONResponse(body, status_code=422)
    headers: dict[str, str] | None = None
    if isinstance(exc, Unauthorized):
        headers = BEARER
    elif isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _sanitized(list(exc.errors()))}, status_code=422)


BODY_NOT_JSON = [
    {"loc": ["body"], "msg": "Request body is not valid UTF-8 JSON", "type": "json_invalid"}
]


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method the request's path answers to, across all routes.

    Starlette's 405 lists only the methods of the first route whose path matched, so
    `OPTIONS /api/v1/tasks` would advertise `POST` alone although `GET` works too. Asking
    the router about each method also sees routes nested in included routers.
    """
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI answers 400 when json.loads fails with anything but JSONDecodeError:
        # a body that is not UTF-8 (UnicodeDecodeError) or nested too deep. SPEC §2: 422.
        return JSONResponse({"detail": BODY_NOT_JSON}, status_code=422)
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.update(BEARER)
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _database_down(_: Request, exc: Exception) -> JSONResponse:
    log.error("database_unavailable", error=type(exc).__name__)
    return JSONResponse(
        {"detail": "Database unavailable"}, status_code=503, headers={"Retry-After": "5"}
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


# SQLSTATE classes that mean "the database cannot serve you right now": connection
# exceptions (08), operator intervention such as "starting up" or "shutting down"
# (57P), too many connections (53300). asyncpg raises some of these (57P03 during crash
# recovery) as a plain DBAPIError rather than an OperationalError.
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53300")


def _database_unavailable(exc: Exception) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if getattr(exc, "connection_invalidated", False):
        return True
    sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", None) or "")
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


async def _dbapi_error(request: Request, exc: Exception) -> JSONResponse:
    # OperationalError/InterfaceError: the server is down, restarting, or (SQLite) locked
    # past the busy timeout. All are transient from the client's point of view.
    if _database_unavailable(exc):
        return await _database_down(request, exc)
    return await _unexpected(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _dbapi_error)
    # Every pooled connection busy for pool_timeout seconds: overloaded, answer 503.
    app.add_exception_handler(PoolTimeout, _database_down)
    app.add_exception_handler(ConnectionError, _database_down)
    app.add_exception_handler(OSError, _database_down)
    app.add_exception_handler(Exception, _unexpected)
