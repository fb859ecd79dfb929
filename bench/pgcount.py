"""A PostgreSQL wire-protocol proxy that counts the statements a client executes.

Used when the server was started without `shared_preload_libraries=pg_stat_statements`
(this machine's PostgreSQL), so pg_stat_statements cannot be enabled without restarting
a server the harness does not own. Counting at the wire is exact and needs no server
log: every simple Query ('Q') and every Execute ('E') of a parsed statement is one
statement. Execute carries only a portal name, so Parse/Bind are tracked to recover the
SQL text, which the report shows so "one SELECT, none for authentication" can be checked.

The proxy is plain asyncio and would itself be the bottleneck under load, so the harness
routes only a separate, sequential counting pass through it, never the timed wrk runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections import Counter
from dataclasses import dataclass

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
TX_CONTROL = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"}
)


def normalize(sql: str) -> str:
    return " ".join(sql.split())[:240]


def first_word(sql: str) -> str:
    words = sql.split(None, 1)
    return words[0].rstrip(";").upper() if words else ""


@dataclass(frozen=True)
class Counts:
    statements: Counter[str]  # normalized SQL -> executions, transaction control excluded
    tx_control: Counter[str]  # BEGIN / COMMIT / ROLLBACK ... -> executions
    transactions: int  # explicit BEGIN blocks plus statements run outside any block


class _Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements: Counter[str] = Counter()
        self.tx_control: Counter[str] = Counter()
        self.transactions = 0

    def record(self, sql: str, in_block: bool) -> bool:
        """Count one statement; return whether a transaction block is open after it."""
        word = first_word(sql)
        with self.lock:
            if word in TX_CONTROL:
                self.tx_control[word] += 1
                if word in ("BEGIN", "START"):
                    self.transactions += 1
                    return True
                if word in ("COMMIT", "END", "ROLLBACK", "ABORT"):
                    return False
                return in_block
            self.statements[normalize(sql)] += 1
            if not in_block:
                self.transactions += 1  # autocommit: the statement is its own transaction
            return in_block


def _cstring(buf: bytes, start: int) -> tuple[str, int]:
    end = buf.index(b"\0", start)
    return buf[start:end].decode(errors="replace"), end + 1


class CountingProxy:
    """Listens on 127.0.0.1:listen_port and forwards to the real server."""

    def __init__(self, listen_port: int, upstream_host: str, upstream_port: int) -> None:
        self.listen_port = listen_port
        self.upstream = (upstream_host, upstream_port)
        self._tally = _Tally()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- public, called from the harness thread ------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pg-count-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"counting proxy failed to listen: {self._error}")

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def reset(self) -> None:
        with self._tally.lock:
            self._tally.statements.clear()
            self._tally.tx_control.clear()
            self._tally.transactions = 0

    def snapshot(self) -> Counts:
        with self._tally.lock:
            return Counts(
                Counter(self._tally.statements),
                Counter(self._tally.tx_control),
                self._tally.transactions,
            )

    # -- event loop side -----------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)
            )
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        try:
            sreader, swriter = await asyncio.open_connection(*self.upstream)
        except OSError:
            cwriter.close()
            return
        downstream = asyncio.create_task(self._copy(sreader, cwriter))
        try:
            await self._client_to_server(creader, swriter, cwriter)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            swriter.close()
            downstream.cancel()
            cwriter.close()

    @staticmethod
    async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client_to_server(
        self,
        creader: asyncio.StreamReader,
        swriter: asyncio.StreamWriter,
        cwriter: asyncio.StreamWriter,
    ) -> None:
        # Start-up messages have no type byte: length, then a request code.
        while True:
            head = await creader.readexactly(8)
            length, code = struct.unpack("!II", head)
            rest = await creader.readexactly(length - 8)
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                # Refuse encryption ourselves so the rest of the stream stays readable.
                cwriter.write(b"N")
                await cwriter.drain()
                continue
            swriter.write(head + rest)
            await swriter.drain()
            if code == CANCEL_REQUEST:
                return
            break

        statements: dict[str, str] = {}
        portals: dict[str, str] = {}
        in_block = False
        while True:
            head = await creader.readexactly(5)
            kind = head[:1]
            (length,) = struct.unpack("!I", head[1:])
            body = await creader.readexactly(length - 4)
            swriter.write(head + body)
            if kind == b"Q":
                sql, _ = _cstring(body, 0)
                in_block = self._tally.record(sql, in_block)
            elif kind == b"P":
                name, pos = _cstring(body, 0)
                statements[name], _ = _cstring(body, pos)
            elif kind == b"B":
                portal, pos = _cstring(body, 0)
                stmt, _ = _cstring(body, pos)
                portals[portal] = statements.get(stmt, "?")
            elif kind == b"E":
                portal, _ = _cstring(body, 0)
                in_block = self._tally.record(portals.get(portal, "?"), in_block)
            elif kind == b"X":
                await swriter.drain()
                return
            await swriter.drain()
