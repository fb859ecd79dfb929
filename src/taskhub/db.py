"""Engine, session factories and the declarative Base."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import sqlite_vec
from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

from taskhub.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type: values are stored as naive UTC, which keeps their text
    form sortable, and handed back aware so the API never sees a naive datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONList = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class WriteSerialiser:
    """One SQLite write transaction at a time in this process, queued first come first served.

    SQLite has a single write lock per database file. When several pooled connections
    want it at once, all but one sleep inside SQLite's busy handler, which polls in
    growing steps (up to 100 ms each): a fast median with a tail of seconds. Queueing
    writers on an asyncio lock *before* `BEGIN IMMEDIATE` means that, within one process,
    nobody ever reaches the busy handler: the lock is handed to the next writer the
    moment the previous transaction ends. Reads do not take it (WAL: they never block).

    The lock is taken in the engine's `begin` event, so every transaction on the engine
    goes through it: request sessions, the embedded job runner, `engine.begin()`. It is
    released when the connection goes back to the pool (after COMMIT or ROLLBACK,
    including a failed write and an invalidated connection) and recorded in the pool
    entry's `record_info`, which outlives reconnects, so it cannot leak with a
    discarded DBAPI connection.

    Across processes (`serve --workers N` on SQLite, or the CLI next to a server) the
    busy timeout still applies: this lock orders one process's writers, SQLite's lock
    orders the processes.
    """

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        # One lock per event loop: an asyncio.Lock is bound to the loop that first waits
        # on it, and a test suite or the CLI may run several loops over one engine.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _acquire(self, lock: asyncio.Lock) -> None:
        try:
            async with asyncio.timeout(self.wait_seconds):
                await lock.acquire()
        except TimeoutError:
            # The same error and wording as SQLite's own busy timeout: a 503 for the client.
            raise OperationalError(
                "BEGIN IMMEDIATE",
                None,
                sqlite3.OperationalError("database is locked (queued for the write lock)"),
            ) from None

    def acquire(self, record_info: dict[Any, Any]) -> None:
        """Wait for the lock (inside SQLAlchemy's greenlet); re-entrant per connection."""
        if _WRITE_LOCK_KEY in record_info:
            return  # commit-as-you-go: the connection's previous transaction still holds it
        lock = self._lock()
        await_(self._acquire(lock))
        record_info[_WRITE_LOCK_KEY] = lock

    @staticmethod
    def release(record_info: dict[Any, Any] | None) -> None:
        lock = record_info.pop(_WRITE_LOCK_KEY, None) if record_info is not None else None
        if lock is not None:
            lock.release()


_WRITE_LOCK_KEY = "taskhub.sqlite_write_lock"


def _configure_sqlite(engine: AsyncEngine, serialiser: WriteSerialiser) -> None:
    """WAL, foreign keys, busy timeout, and serialised BEGIN IMMEDIATE for write transactions.

    A deferred transaction that reads and then writes can fail with SQLITE_BUSY without
    waiting when another writer got there first; taking the write lock at BEGIN avoids
    that, and `serialiser` makes this process's writers queue in the event loop rather
    than in SQLite's busy handler.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        _load_sqlite_vec(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        record_info = connection.connection.record_info
        # Outside a greenlet (plain synchronous use of the engine) there is no event loop
        # to queue on; such a caller waits in the busy handler as before.
        queued = record_info is not None and in_greenlet()
        if queued:
            serialiser.acquire(record_info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                serialiser.release(record_info)
            raise

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        serialiser.release(record.record_info)


def _load_sqlite_vec(dbapi_connection: Any) -> None:
    """Load sqlite-vec when this Python can: the vector table (migration 0005) and the
    triggers that keep it in step with `tasks` need it on every connection.

    Extension loading is switched off again right after, so SQL can never load a
    library of its choosing. aiosqlite runs sqlite3 on its own thread: reach the driver
    connection through SQLAlchemy's adapter.
    """
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        return  # semantic search reports itself unavailable (taskhub.search.vectors)
    path = sqlite_vec.loadable_path()
    dbapi_connection.run_async(lambda conn: conn.enable_load_extension(True))
    try:
        dbapi_connection.run_async(lambda conn: conn.load_extension(path))
    finally:
        dbapi_connection.run_async(lambda conn: conn.enable_load_extension(False))


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=settings.db_pool_size, max_overflow=20)
        _configure_sqlite(engine, WriteSerialiser(SQLITE_BUSY_TIMEOUT_MS / 1000))
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "taskhub"}},
    )


@dataclass(frozen=True)
class Database:
    """The engine and its two session factories.

    `writer` sessions run one transaction per request. `reader` sessions run in
    autocommit: a single-statement read then costs one round-trip, with no BEGIN and
    no ROLLBACK around it.
    """

    engine: AsyncEngine
    writer: async_sessionmaker[AsyncSession]
    reader: async_sessionmaker[AsyncSession]
    # Requests queue here, first come first served, before they can hold a pooled
    # connection. The pool's own wait lets a newcomer take a connection that was just
    # returned ahead of the coroutine woken for it, and under load (bench: 64 clients,
    # 16 connections) some requests starved for seconds. Two connections stay outside
    # the gate for the background job loops.
    gate: asyncio.Semaphore

    @classmethod
    def open(cls, settings: Settings) -> Database:
        engine = create_engine(settings)
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        connections = settings.db_pool_size + settings.db_max_overflow
        return cls(
            engine=engine,
            writer=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
            reader=async_sessionmaker(autocommit, expire_on_commit=False, autoflush=False),
            gate=asyncio.Semaphore(max(1, connections - 2)),
        )

    async def close(self) -> None:
        await self.engine.dispose()


# --- PostgreSQL: hot reads without the ORM execute path ------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[tuple[str, Callable[[Any], Any]], ...]


_COMPILED: dict[int, tuple[Executable, _Compiled | None]] = {}


def _compile_for_asyncpg(statement: Executable, dialect: Dialect) -> _Compiled | None:
    """SQL text, parameter order and SQLAlchemy's own type conversions, computed once.

    None for a statement whose text depends on its values (expanding IN lists).
    """
    compiled: Any = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    sql = str(compiled)
    if "POSTCOMPILE" in sql:
        return None
    order = tuple(compiled.positiontup or ())
    processors = compiled._bind_processors
    results = []
    for entry in compiled._result_columns:
        process = entry.type._cached_result_processor(dialect, None)
        if process is not None:
            results.append((entry.keyname, process))
    return _Compiled(sql, order, tuple(processors.get(n) for n in order), tuple(results))


def _compiled(statement: Executable, dialect: Dialect) -> _Compiled | None:
    # Keyed by identity and holding the statement, so an id is never reused for another.
    cached = _COMPILED.get(id(statement))
    if cached is None:
        cached = _COMPILED[id(statement)] = (statement, _compile_for_asyncpg(statement, dialect))
    return cached[1]


async def fetch_mappings(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Sequence[Mapping[str, Any]]:
    """Run a prebuilt read and return its rows as mappings, the same values as `execute`.

    On PostgreSQL the statement's SQL is compiled once and sent on the session's own
    asyncpg connection (a prepared statement from asyncpg's cache): the ORM execute path
    (compile cache lookup, parameter processing, result objects) cost several times the
    driver's CPU for these one-round-trip reads. SQLAlchemy's bind and result
    conversions still apply. SQLite, and a driver error, take the ordinary path, so
    errors reach the handlers wrapped exactly as before.

    Only for statements built once (module constants or memoized): the compiled form is
    cached by identity.
    """
    bind = session.get_bind()
    if bind.dialect.driver == "asyncpg":
        compiled = _compiled(statement, bind.dialect)
        if compiled is not None:
            connection = await session.connection()
            raw: Any = (await connection.get_raw_connection()).driver_connection
            args = [
                params[name] if bind_ is None else bind_(params[name])
                for name, bind_ in zip(compiled.order, compiled.binds, strict=True)
            ]
            announce = connection.sync_connection.dispatch.before_cursor_execute  # type: ignore[union-attr]
            if (
                announce
            ):  # someone listens (tests counting statements): tell them, as SQLAlchemy would
                announce(connection.sync_connection, None, compiled.sql, args, None, False)
            try:
                records = await raw.fetch(compiled.sql, *args)
            except (
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                # A connection the server dropped mid-protocol ("cannot switch to state
                # 12"): seen as a 500 in the PostgreSQL-crash fault test.
                asyncpg.exceptions.InternalClientError,
                OSError,
            ):
                pass  # run it again below: SQLAlchemy wraps the error, invalidates if dead
            else:
                rows = [dict(record) for record in records]
                for key, process in compiled.results:
                    for row in rows:
                        row[key] = process(row[key])
                return rows
    result = await session.execute(statement, params)
    mappings: Sequence[Any] = result.mappings().all()
    return mappings
