"""Counting the SQL statements one request sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
# Set only in the context of the block below. The request (and any task it spawns)
# inherits it; the embedded job runner, started with the app, does not, so its outbox
# polls never count (they made this count flaky on PostgreSQL).
_counting: ContextVar[list[str] | None] = ContextVar("counting_statements", default=None)


def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    statements = _counting.get()
    if statements is not None and not statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
        statements.append(statement)


@contextmanager
def count_statements(app: FastAPI) -> Iterator[list[str]]:
    """SQL statements sent from this context while the block runs, transaction control
    excluded; statements of concurrent background tasks are not included."""
    statements: list[str] = []
    engine = app.state.db.engine.sync_engine
    token = _counting.set(statements)
    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _record)
        _counting.reset(token)


__all__ = ["count_statements"]
