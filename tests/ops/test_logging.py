"""Logs of a real `taskhub serve`: one JSON object per line, carrying the request id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.ops.support import Server, cli_env, served


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with served(cli_env(tmp_path_factory.mktemp("logs") / "data")) as server:
        yield server


async def _logged(server: Server, request_id: str) -> list[dict[str, Any]]:
    """The log records of one request; the access line is written just after the answer."""
    async with asyncio.timeout(5):
        while True:
            records = [json.loads(line) for line in server.log_lines()]
            found = [r for r in records if r.get("request_id") == request_id]
            if found:
                return found
            await asyncio.sleep(0.05)


async def test_every_log_line_is_one_json_object(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.get("/healthz", headers={"X-Request-ID": "json-lines"})
    await _logged(server, "json-lines")

    lines = server.log_lines()

    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line


async def test_the_access_log_carries_the_echoed_request_id(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/api/v1/tasks", headers={"X-Request-ID": "trace-42"})

    records = await _logged(server, "trace-42")

    assert response.headers["x-request-id"] == "trace-42"
    access = [r for r in records if r.get("event") == "request"]
    assert len(access) == 1
    assert access[0]["route"] == "/api/v1/tasks"
    assert access[0]["status"] == 401


async def test_a_generated_request_id_is_the_one_logged(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/healthz")

    records = await _logged(server, response.headers["x-request-id"])

    assert [r["path"] for r in records if r.get("event") == "request"] == ["/healthz"]
