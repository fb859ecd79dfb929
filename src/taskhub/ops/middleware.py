"""Pure-ASGI middleware: request id, access log, metrics, security headers, body limit.

Written against raw ASGI rather than BaseHTTPMiddleware: it costs a few microseconds
per request instead of a task and a stream per request.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskhub.ops.logging import get_logger
from taskhub.ops.metrics import LATENCY, REQUESTS

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
DOCS_PATHS = ("/docs", "/redoc")
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc load from jsDelivr; ReDoc also wants Google Fonts and runs its
# search index in a blob: worker.
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    b"font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; "
    b"img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    b"frame-ancestors 'none'"
)
BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]

access_log = get_logger("taskhub.access")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled

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
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP
        no_store = path.startswith("/api/")
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers.extend(BASE_HEADERS)
                headers.append((b"content-security-policy", csp))
                headers.append((b"x-request-id", request_id.encode()))
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope["method"]
            status = str(status_code)
            REQUESTS.labels(method, template, status).inc()
            LATENCY.labels(method, template, status).observe(elapsed)
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


class BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """413 for request bodies over the limit, declared or streamed (chunked).

    The body is read here, up to the limit, and replayed to the app, so the app never
    starts on a request that will turn out too large.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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
        await self.app(scope, _replay([body], None, receive), send)


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
