"""A Standard Webhooks receiver for end-to-end tests: verifies every request with the
`standardwebhooks` library's own verifier, can go down and come back on its port."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Delivery:
    webhook_id: str
    payload: dict[str, Any]


@dataclass
class VerifyingReceiver:
    """Answers 200 to requests whose signature verifies (401 otherwise) while `up`."""

    port: int = 0
    secret: str | None = None
    received: list[Delivery] = field(default_factory=list)
    rejected: int = 0
    hold: threading.Event | None = None  # set: requests wait for it before answering
    arrived: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def up(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Closed port: connections are refused until `up` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None

    def ids(self) -> list[str]:
        return [d.webhook_id for d in self.received]


def _handler(receiver: VerifyingReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.arrived.set()
            if receiver.hold is not None:
                receiver.hold.wait(timeout=60)
            try:
                assert receiver.secret is not None
                payload = Webhook(receiver.secret).verify(body, headers)
            except Exception:
                receiver.rejected += 1
                self._answer(401, b"bad signature")
                return
            receiver.received.append(Delivery(headers["webhook-id"], payload))
            self._answer(200, b'{"ok": true}')

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
