"""Helpers shared by the OWASP API Security Top 10 (2023) modules."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

METHODS = ("get", "put", "post", "delete", "patch")


def unknown_id() -> str:
    return str(uuid.uuid4())


def operations(app: FastAPI) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operation_id -> (METHOD, path template, operation) from the published document."""
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON document, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk(inner)


def rss_bytes() -> int:
    """Resident set size of this process (the server runs in it), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def raw_get(
    app: FastAPI, path: str, query: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """GET through the ASGI interface with a query string of any length.

    httpx refuses URLs over 64 KiB before sending them; a real client (or uvicorn with
    its default h11 limits) can still deliver one, so the app must cope.
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
    status = 0
    body = bytearray()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status, bytes(body)


def free_port_url(scheme: str) -> str:
    """A `scheme://` URL on a loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}/0"
