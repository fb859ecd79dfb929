"""Free loopback ports for the servers a test, benchmark or fuzz run starts."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_url(scheme: str) -> str:
    """A URL on a loopback port nothing listens on: connecting to it is refused."""
    return f"{scheme}://127.0.0.1:{free_port()}"


__all__ = ["free_port", "free_port_url"]
