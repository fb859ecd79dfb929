"""A TCP proxy that can simulate a server outage: `cut()` and `restore()`."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    """Forward 127.0.0.1:<free port> to `target`; `cut()` drops every connection.

    While cut, new connections are accepted and reset at once, so a client sees the
    server as down immediately (as with a refused connection) rather than after a
    timeout. `restore()` forwards again; clients have to reconnect by themselves.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def is_cut(self) -> bool:
        return self._cut

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def cut(self) -> None:
        """Close every open connection and reset new ones until `restore()`."""
        self._cut = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self._cut = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self._cut:
            client_w.transport.abort()
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        if self._cut:  # cut while we were connecting
            server_w.transport.abort()
            client_w.transport.abort()
            return
        self._writers.update((client_w, server_w))
        pipes = (
            asyncio.create_task(self._pipe(client_r, server_w, client_w)),
            asyncio.create_task(self._pipe(server_r, client_w, server_w)),
        )
        self._pipes.update(pipes)
        for pipe in pipes:
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, other: asyncio.StreamWriter
    ) -> None:
        """Copy source to sink; when either side ends, close both directions."""
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (sink, other):
                self._writers.discard(writer)
                with contextlib.suppress(Exception):
                    writer.transport.abort()
