"""A real OpenAI-compatible HTTP server for tests: Starlette under uvicorn on a free port.

It answers `POST /v1/chat/completions` with `chat_answer`, and `POST /v1/embeddings`
with a deterministic, deliberately unnormalised vector per input (text length, count
of "a", 1); it records what it was sent; `behaviour` makes it fail the ways real
servers do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import free_port


@dataclass
class StubState:
    api_key: str | None = None
    behaviour: str = "ok"  # ok | slow | garbage | short | ragged | 500
    delay_seconds: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    chats: list[dict[str, Any]] = field(default_factory=list)  # chat completion requests
    chat_answer: str = "nothing"  # what the chat model answers


def stub_vector(text: str) -> list[float]:
    return [float(len(text)), float(text.count("a")), 1.0]


def _app(state: StubState) -> Starlette:
    async def embeddings(request: Request) -> Response:
        body = await request.json()
        state.requests.append(body)
        state.authorizations.append(request.headers.get("authorization"))
        if state.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {state.api_key}"
        ):
            return JSONResponse({"error": {"message": "Incorrect API key"}}, status_code=401)
        if state.behaviour == "slow":
            time.sleep(state.delay_seconds)  # blocks this stub's own thread only
        if state.behaviour == "500":
            return PlainTextResponse("model crashed", status_code=500)
        if state.behaviour == "garbage":
            return PlainTextResponse("<html>not json</html>")
        inputs: list[str] = body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": stub_vector(text)}
            for i, text in enumerate(inputs)
        ]
        if state.behaviour == "short":
            data = data[:-1]
        if state.behaviour == "ragged":
            data[-1]["embedding"] = [1.0]
        data.reverse()  # servers may answer in any order; `index` says which is which
        return JSONResponse({"object": "list", "model": body["model"], "data": data})

    async def chat(request: Request) -> Response:
        body = await request.json()
        state.chats.append(body)
        return JSONResponse(
            {
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": state.chat_answer},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    return Starlette(
        routes=[
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )


@contextmanager
def running_stub(state: StubState) -> Iterator[str]:
    """Serve the stub on 127.0.0.1:<free port> in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(_app(state), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the stub embeddings server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
