"""SQL building blocks for task lists: label containment, word search, keyset ordering.

Who may see a task is not decided here: that is `tasks.access`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from taskhub.errors import Invalid
from taskhub.tasks.models import TASKS, Task


class LabelContains(ColumnElement[bool]):
    """`labels` (a JSON array) contains the bound `needle`; compiled per dialect.

    The needle is a bound parameter that takes part in SQLAlchemy's statement cache key,
    so one compiled statement serves every label. Its value is the label itself on
    SQLite and a one-element JSON array on PostgreSQL (see `label_param`).
    """

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("needle", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnClause[Any] | Any, needle: BindParameter[Any]) -> None:
        self.column = column
        self.needle = needle


def label_param(dialect: str, label: str) -> str:
    return orjson.dumps([label]).decode() if dialect == "postgresql" else label


@compiles(LabelContains, "postgresql")
def _label_contains_pg(element: LabelContains, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    needle = compiler.process(element.needle, **kw)
    return f"({column} @> CAST({needle} AS JSONB))"


@compiles(LabelContains, "sqlite")
def _label_contains_sqlite(element: LabelContains, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    value = compiler.process(element.needle, **kw)
    # Both parts are compiled SQL (a column and a bound parameter), never user text.
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"  # noqa: S608


# Word search ------------------------------------------------------------------------
#
# The indexes are migration 0004's: an FTS5 table on SQLite, the GIN-indexed generated
# column `tasks.search_vector` on PostgreSQL (its docstring says why they split and fold
# text as they do, and why the column is stored). The user's text never reaches a query
# language: it is cut into words here, and the words are bound as plain data.

_WORD = re.compile(r"[^\W_]+")  # runs of Unicode letters and digits, as both indexes cut
WORDS = bindparam("words", type_=String())
_FTS = table("tasks_fts", column("rowid", Integer()))
_FTS_REF: ColumnClause[Any] = literal_column("tasks_fts")
# Not in the model: SQLite's implicit row key, and PostgreSQL's generated tsvector.
_ROWID = column("rowid", Integer(), _selectable=TASKS)
_VECTOR = column("search_vector", TSVECTOR(), _selectable=TASKS)
_SIMPLE: ColumnClause[Any] = literal_column("'simple'::regconfig")
# bm25 weights per FTS5 column: a word in the title counts twice one in the description.
_BM25_WEIGHTS: tuple[ColumnClause[Any], ...] = (literal_column("2.0"), literal_column("1.0"))


def words(text: str) -> list[str]:
    """The distinct words of a search text, in order; punctuation and symbols separate.

    Case is left alone: each database folds both sides itself, with the same rules as
    it folded the indexed text (Python's `lower()` differs on a few letters).
    """
    return list(dict.fromkeys(_WORD.findall(text)))


def words_param(dialect: str, terms: Sequence[str]) -> str:
    """The value to bind as `words`: every term must match.

    SQLite: an FTS5 query of phrase-quoted terms (implicit AND), so `NEAR`, `OR`, `*`,
    `-` or `:` typed by a user are words, never operators. PostgreSQL: the terms
    separated by spaces, for `plainto_tsquery` (which ANDs them and has no operators).
    """
    if dialect == "sqlite":
        return " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return " ".join(terms)


def _tsquery() -> ColumnElement[Any]:
    return func.plainto_tsquery(_SIMPLE, WORDS)


def has_words(dialect: str) -> ColumnElement[bool]:
    """Tasks whose title or description hold every word bound as `words` (`words_param`).

    On PostgreSQL, order the filtered rows with `Ordering.order_clause(unindexed=True)`:
    otherwise the plan may walk the caller's tasks in index order testing each one, which
    is quick for a word in most tasks but reads every task for a rare one (130 ms at
    100,000 tasks). A prepared statement's generic plan, which asyncpg gets after five
    executions, knows no word and picks that walk. Found through the GIN index, a page
    costs what the caller's matches cost (2-10 ms for a typical word).
    """
    if dialect == "sqlite":
        return _ROWID.in_(select(_FTS.c.rowid).where(_FTS_REF.op("MATCH")(WORDS)))
    return _VECTOR.bool_op("@@")(_tsquery())


def ranked_by_words(query: Select[Any], dialect: str) -> Select[Any]:
    """`query` (over `tasks`) narrowed to `has_words`, with a `score` column: higher is better.

    SQLite: FTS5's bm25 (negated: FTS5 ranks lower as better). PostgreSQL: ts_rank_cd,
    which rewards the words standing close together, title over description.
    """
    if dialect == "sqlite":
        score = -func.bm25(_FTS_REF, *_BM25_WEIGHTS)
        return (
            query.join(_FTS, _FTS.c.rowid == _ROWID)
            .where(_FTS_REF.op("MATCH")(WORDS))
            .add_columns(score.label("score"))
        )
    rank = func.ts_rank_cd(_VECTOR, _tsquery())
    return query.where(has_words(dialect)).add_columns(rank.label("score"))


# The values a key we issued can hold: anything else in a cursor is forged or corrupt,
# and must not reach the database (where it would overflow the column type).
_KEY_RANGES = {"priority": (0, 4), "position": (0, 2**63 - 1)}


@dataclass(frozen=True)
class Ordering:
    """One of the list orders: a column, a direction, ties broken by id the same way."""

    field: str
    descending: bool

    @classmethod
    def parse(cls, order_by: str) -> Ordering:
        return cls(field=order_by.lstrip("-"), descending=order_by.startswith("-"))

    @property
    def nullable(self) -> bool:
        return self.field == "due_at"

    def column(self, entity: Any = Task) -> Any:
        return getattr(entity, self.field)

    def order_clause(self, entity: Any = Task, *, unindexed: bool = False) -> list[Any]:
        """ORDER BY this order, ties by id.

        `unindexed`: the same order through an expression no index provides, so that
        PostgreSQL finds the rows by another condition first (see `has_words`).
        """
        col = self.column(entity)
        if unindexed:
            # COALESCE(x, x) is x, NULL included, but the planner does not fold it.
            col = func.coalesce(col, col)
        col = col.desc() if self.descending else col.asc()
        if self.nullable:
            col = col.nulls_last()
        ident = entity.id.desc() if self.descending else entity.id.asc()
        return [col, ident]

    def key_of(self, task: Any) -> list[Any]:
        """The cursor key of `task` (a row mapping or an object with the columns)."""
        value = task[self.field] if isinstance(task, Mapping) else getattr(task, self.field)
        ident = task["id"] if isinstance(task, Mapping) else task.id
        if isinstance(value, datetime):
            value = value.isoformat()
        return [value, str(ident)]

    def parse_key(self, raw: list[Any]) -> tuple[Any, uuid.UUID]:
        value, ident = raw
        try:
            parsed_id = uuid.UUID(str(ident))
            if value is None:
                if not self.nullable:
                    raise ValueError
                return None, parsed_id
            if self.field in ("created_at", "due_at"):
                if not isinstance(value, str):
                    raise ValueError
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise ValueError
                return parsed.astimezone(UTC), parsed_id
            low, high = _KEY_RANGES[self.field]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError
            return value, parsed_id
        except (ValueError, TypeError, OverflowError):
            raise Invalid("Malformed cursor", loc=("query", "cursor")) from None

    def after(self, value: Any, last_id: Any, entity: Any = Task) -> ColumnElement[bool]:
        """Rows strictly after (value, last_id) in this order: the keyset condition."""
        col = self.column(entity)
        ident = entity.id
        if value is None:  # only for due_at: we are inside the trailing null group
            return and_(col.is_(None), ident < last_id if self.descending else ident > last_id)
        if not self.nullable:
            # A row comparison is an index range on (place, column, id): PostgreSQL seeks
            # straight to the cursor. The equivalent OR form is only a filter, so a deep
            # page scanned every newer row first (bench: 1,262 -> 339 req/s once 15,000
            # newer tasks existed).
            key = tuple_(col, ident)
            cursor = tuple_(value, last_id, types=[col.type, ident.type])
            return key < cursor if self.descending else key > cursor
        beyond = col < value if self.descending else col > value
        tie = and_(col == value, ident < last_id if self.descending else ident > last_id)
        return or_(beyond, tie, col.is_(None))
