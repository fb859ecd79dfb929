"""Pure-ASGI middleware: request id, access log, metrics, security headers, authentication
first, body limit and encoding.

Written against raw ASGI rather than BaseHTTPMiddleware: it costs a few microseconds
per request instead of a task and a stream per request.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from re import Pattern
from typing import Any

import orjson
import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskhub.ops.logging import get_logger
from taskhub.ops.metrics import LATENCY, REQUESTS

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
DOCS_PATHS = ("/docs", "/redoc")
ADMIN_PATH = "/admin"
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI, ReDoc and the admin are served from installed packages: nothing from
# another origin. Inline styles stay allowed (both UIs set them); inline scripts do not.
# ReDoc runs its search index in a blob: worker.
DOCS_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'"
)
ADMIN_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    b"form-action 'self'; frame-ancestors 'none'"
)
# The web app (taskhub/web): our own script and stylesheet only, no inline anything.
WEB_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
WEB_PATHS = ("/signin", "/signup", "/signout", "/tasks", "/projects")
WEB_STATIC = "/static/web/"
BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]
NO_REFERRER = (b"referrer-policy", b"no-referrer")
# The admin's cross-site guard accepts a same-origin Referer (admin/guard.py).
SAME_ORIGIN_REFERRER = (b"referrer-policy", b"same-origin")

# The route template of a request answered before routing (see AuthenticateFirst), for
# the access log and the metrics labels.
ROUTE_TEMPLATE = "taskhub.route_template"

access_log = get_logger("taskhub.access")

Headers = tuple[tuple[bytes, bytes], ...]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _security_headers(csp: bytes, referrer: tuple[bytes, bytes], *, no_store: bool) -> Headers:
    headers = [*BASE_HEADERS, referrer, (b"content-security-policy", csp)]
    if no_store:
        headers.append((b"cache-control", b"no-store"))
    return tuple(headers)


def _is_web_page(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in WEB_PATHS)


API_POLICY = _security_headers(API_CSP, NO_REFERRER, no_store=True)
DOCS_POLICY = _security_headers(DOCS_CSP, NO_REFERRER, no_store=False)
ADMIN_POLICY = _security_headers(ADMIN_CSP, SAME_ORIGIN_REFERRER, no_store=False)
# Like the admin: a same-origin Referer backs up Origin for the CSRF check. Pages show
# one person's data: never kept by a browser or proxy cache either.
WEB_PAGE_POLICY = _security_headers(WEB_CSP, SAME_ORIGIN_REFERRER, no_store=True)
WEB_STATIC_POLICY = _security_headers(WEB_CSP, SAME_ORIGIN_REFERRER, no_store=False)
DEFAULT_POLICY = _security_headers(API_CSP, NO_REFERRER, no_store=False)


def _page_policy(path: str) -> Headers:
    """The security headers of every response under `path`: prebuilt, a request picks one.

    A new kind of page (its own CSP) is one more policy here.
    """
    if path.startswith("/api/"):  # the hot path first
        return API_POLICY
    if _is_web_page(path):
        return WEB_PAGE_POLICY
    if path.startswith(WEB_STATIC):
        return WEB_STATIC_POLICY
    if path.startswith(DOCS_PATHS):
        return DOCS_POLICY
    if path == ADMIN_PATH or path.startswith(ADMIN_PATH + "/"):
        return ADMIN_POLICY
    return DEFAULT_POLICY


class _RequestMetrics:
    """The labelled counter and histogram children, looked up once per label set."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                REQUESTS.labels(method, route, status),
                LATENCY.labels(method, route, status),
            )
        children[0].inc()
        children[1].observe(seconds)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self.metrics = _RequestMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw_id = _header(scope, b"x-request-id")
        request_id = raw_id.decode("latin-1") if raw_id else ""
        if not REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        path: str = scope["path"]
        policy = _page_policy(path)
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"server"]
                headers.extend(policy)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or scope.get(ROUTE_TEMPLATE) or "<unmatched>"
            method = scope["method"]
            self.metrics.observe(method, template, str(status_code), elapsed)
            if self.access_log_enabled:
                access_log.info(
                    "request",
                    method=method,
                    route=template,
                    path=path,
                    status=status_code,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    close: bool = True,
) -> None:
    """Answer without the app. `close` when a request body may remain unread."""
    payload = orjson.dumps(body)
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(headers or ()),
    ]
    if close:
        head.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": payload})


def _announces_body(scope: Scope) -> bool:
    declared = _header(scope, b"content-length")
    if declared is not None:
        return declared.strip() not in (b"", b"0")
    return _header(scope, b"transfer-encoding") is not None


Authenticate = Callable[[Request], Awaitable[object | None]]


class AuthenticateFirst:
    """401 for a request under `prefix` without valid credentials, before anything else.

    SPEC §2: routing, the body limit and body parsing come after authentication, so a
    stranger learns nothing (not whether a path exists, not how a body is validated) and
    the server reads no body it will refuse anyway. `authenticate` is the check the
    routes' caller dependency uses; it keeps its answer in `request.state`, so a request
    is still verified once.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        anonymous: Collection[str],
        authenticate: Authenticate,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.anonymous = frozenset(anonymous)
        self.authenticate = authenticate
        self._templates: list[tuple[Pattern[str], str]] | None = None

    def _guards(self, path: str) -> bool:
        under = path == self.prefix or path.startswith(self.prefix + "/")
        return under and path not in self.anonymous

    def _template(self, scope: Scope) -> str | None:
        """The documented path template `scope` would be routed to, if any."""
        if self._templates is None:
            paths = scope["app"].openapi()["paths"]
            self._templates = [(compile_path(template)[0], template) for template in paths]
        path: str = scope["path"]
        return next((t for regex, t in self._templates if regex.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guards(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            known = await self.authenticate(Request(scope)) is not None
        except SQLAlchemyError:  # a credential that needs the database (a personal token)
            await _send_json(
                send, 503, {"detail": "Database unavailable"}, [(b"retry-after", b"5")]
            )
            return
        if known:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_TEMPLATE] = self._template(scope)
        await _send_json(
            send,
            401,
            {"detail": "Not authenticated"},
            [(b"www-authenticate", b"Bearer")],
            close=_announces_body(scope),
        )


NOT_UTF8 = {
    "detail": [
        {
            "loc": ["body"],
            "msg": "A JSON body must be UTF-8, without a byte order mark",
            "type": "json_invalid",
        }
    ]
}


def _declares_json(scope: Scope) -> bool:
    """Whether FastAPI will parse the body as JSON: application/json or application/*+json."""
    raw = _header(scope, b"content-type")
    if raw is None:
        return False
    media = raw.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def _utf8_json_text(body: bytes) -> bool:
    """Whether `body` is UTF-8 without a BOM (RFC 8259 §8.1; SPEC §2: else 422).

    json.loads guesses UTF-16/32 from where the NUL bytes are and skips a UTF-8 BOM
    (json.detect_encoding), and decodes with "surrogatepass": all of that is refused
    here. A BOM is refused rather than ignored (§8.1 allows either): senders MUST NOT add
    one, and a client that does should hear so from us, not from the next strict parser.
    """
    if json.detect_encoding(body) != "utf-8":
        return False
    if body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class BodyLimitMiddleware:
    """413 for request bodies over the limit, declared or streamed (chunked); 422 for a
    JSON body that is not UTF-8.

    The body is read here, up to the limit, and replayed to the app, so the app never
    starts on a request that will turn out too large, and every route that takes JSON
    gets the same encoding rule. Paths in `limits` (the import upload) have their own,
    larger limit and are streamed to the app instead of being buffered: a declared
    length over it is refused before a byte is read, and a chunked body is cut off
    (413) the moment it passes it.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streamed_limit = self.limits.get(scope["path"])
        if streamed_limit is not None:
            await self._streamed(scope, receive, send, streamed_limit)
            return
        too_large = {"detail": f"Request body exceeds {self.max_bytes} bytes"}
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_bytes:
                    await _send_json(send, 413, too_large)
                    return
            except ValueError:
                await _send_json(send, 400, {"detail": "Invalid Content-Length"})
                return
            if int(declared) == 0:
                await self.app(scope, receive, send)
                return
        elif _header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body at all
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _declares_json(scope) and not _utf8_json_text(body):
            await _send_json(send, 422, NOT_UTF8, close=False)
            return
        await self.app(scope, _replay([body], None, receive), send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        too_large = {"detail": f"Request body exceeds {limit} bytes"}
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _send_json(send, 400, {"detail": "Invalid Content-Length"})
                return
            if int(declared) > limit:
                await _send_json(send, 413, too_large)
                return
        size = 0
        started = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise BodyTooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge:
            if started:
                raise
            await _send_json(send, 413, too_large)


class BodyTooLarge(Exception):
    """A streamed body passed its limit (raised into the app by the counting receive)."""


def _replay(bodies: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    queue: list[Message] = [
        {"type": "http.request", "body": body, "more_body": False} for body in bodies
    ]
    if pending is not None:
        queue.append(pending)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay
