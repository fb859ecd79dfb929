"""A real HTTP receiver on 127.0.0.1 for delivery tests, run in a thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI

from taskhub.app import create_app
from taskhub.limits.memory import InMemoryRateLimiter
from tests.support.app import build_settings, empty_tables, make_client, running
from tests.support.databases import empty_database, migrate
from tests.support.factories import Factories
from tests.webhooks.receiver import VerifyingReceiver

HUGE_BYTES = 8 * 1024 * 1024


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            # The client may stop reading early, as it should for /huge.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                getattr(self, "_" + self.path.strip("/").split("?")[0], self._ok)()

        def _send(self, status: int, body: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _ok(self) -> None:
            self._send(200, b'{"received": true}')

        def _fail(self) -> None:
            self._send(500, b"receiver exploded")

        def _redirect(self) -> None:
            self._send(302, b"", Location=receiver.url("/ok"))

        def _huge(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
            chunk = b"x" * 65536
            for _ in range(HUGE_BYTES // len(chunk)):
                self.wfile.write(chunk)

        def _stall(self) -> None:
            # Headers, then nothing until the test lets go: the client's read timeout fires.
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.flush()
            receiver.release.wait(timeout=30)

    return Handler


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve `server` from a daemon thread for the block; shut it down and close it after."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(0)))
    state = Receiver(server.server_address[1])
    server.RequestHandlerClass = _handler(state)
    with serving(server):
        try:
            yield state
        finally:
            state.release.set()  # let stalled handlers finish, or shutdown would wait on them


# --- the API with webhooks that may call 127.0.0.1, on a database of its own -------------
# Its own database: the session's app runs an embedded job runner too (with private
# targets refused), and would otherwise take these deliveries.


@pytest.fixture(scope="module")
async def hooks_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    directory = tmp_path_factory.mktemp("hooks")
    async with empty_database(directory, "taskhub_hooks") as url:
        settings = build_settings(
            url, directory, webhooks_allow_private=True, webhooks_retry_scale=0.01
        )
        await migrate(settings)
        async with running(create_app(settings)) as started:
            yield started


@pytest.fixture
async def hooks_client(hooks_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    hooks_app.state.limiter = InMemoryRateLimiter()
    async with make_client(hooks_app) as client:
        yield client
    await empty_tables(hooks_app.state.db)


@pytest.fixture
def hooks(hooks_client: httpx.AsyncClient) -> Factories:
    return Factories(hooks_client)


@pytest.fixture
def verifying_receiver() -> Iterator[VerifyingReceiver]:
    receiver = VerifyingReceiver()
    receiver.up()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        receiver.down()
