"""HTTPS to the vetted address: the certificate is checked against the URL's name, and
the name is sent as SNI, although the connection goes to an IP address."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from taskhub.webhooks.delivery import WebhookClient
from tests.webhooks.conftest import serving

NAME = "hooks.tls.test"


@dataclass
class TLSReceiver:
    port: int
    cert: Path
    server_names: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    receiver: TLSReceiver

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.receiver.hosts.append(self.headers.get("Host", ""))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[TLSReceiver]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            f"/CN={NAME}",
            "-addext",
            f"subjectAltName=DNS:{NAME}",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    state = TLSReceiver(port=server.server_address[1], cert=cert)

    def remember_sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        state.server_names.append(name)

    context.sni_callback = remember_sni
    server.socket = context.wrap_socket(server.socket, server_side=True)
    handler = type("Handler", (_Handler,), {"receiver": state})
    server.RequestHandlerClass = handler
    with serving(server):
        yield state


def client_for(receiver: TLSReceiver) -> WebhookClient:
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    trust = ssl.create_default_context(cafile=str(receiver.cert))
    return WebhookClient(
        allow_private=True, resolver=resolve, transport=httpx.AsyncHTTPTransport(verify=trust)
    )


async def test_https_delivery_verifies_the_name_and_sends_it_as_sni(
    tls_receiver: TLSReceiver,
) -> None:
    async with client_for(tls_receiver) as client:
        result = await client.deliver(f"https://{NAME}:{tls_receiver.port}/ok", b"{}", {})
    assert result.ok, result
    assert result.address == "127.0.0.1"
    assert tls_receiver.server_names == [NAME]
    assert tls_receiver.hosts == [f"{NAME}:{tls_receiver.port}"]


async def test_certificate_for_another_name_is_refused(tls_receiver: TLSReceiver) -> None:
    async with client_for(tls_receiver) as client:
        result = await client.deliver(f"https://other.tls.test:{tls_receiver.port}/ok", b"{}", {})
    assert not result.ok
    assert result.status is None
    assert tls_receiver.hosts == []
