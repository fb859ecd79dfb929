"""taskhub's plain CSV: a header row, then one task per row.

Columns (header names, any order, case-insensitive; only `title` is required):

| column      | value                                                                   |
|-------------|-------------------------------------------------------------------------|
| title       | 1..200 characters                                                       |
| description | up to 20,000 characters                                                 |
| done        | true/false, yes/no, 1/0 (empty: false)                                  |
| priority    | 0 (none) .. 4 (urgent) (empty: 0)                                       |
| due_at      | RFC 3339 with an offset, e.g. 2026-05-01T09:00:00+02:00 (empty: none)    |
| labels      | separated by `;`, e.g. `home;errands`                                   |
| project     | a project name (empty: the inbox); created when missing                 |
| ref         | any text naming this row, unique in the file, for `parent` to refer to  |
| parent      | the `ref` of an earlier row: this task becomes its subtask              |

A cell written by our exporter with a leading `'` (formula neutralisation) is read back
without it. Unknown columns are refused (a typo would silently drop data).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from taskhub.transfer.cells import unescape_cell
from taskhub.transfer.csvread import Record, split_header
from taskhub.transfer.dedupe import DedupeKeys
from taskhub.transfer.records import CELLS, Row, RowError, TaskRow, task_row

COLUMNS = (*CELLS, "ref", "parent")  # the table above
MAX_PROJECT = 100  # SPEC §5 / projects.schemas.ProjectName
_TRUE = frozenset({"true", "yes", "1", "x"})
_FALSE = frozenset({"false", "no", "0", ""})


def read_plain_csv(lines: Iterable[str]) -> Iterator[Row]:
    """TaskRow or RowError for every row; a header problem is one RowError on line 1."""
    header, rows = split_header(lines)
    if isinstance(header, RowError):
        yield header
        return
    columns = [name.strip().lower() for name in header.fields]
    problem = _header_problem(columns)
    if problem:
        yield RowError(header.line, problem)
        return
    keys = DedupeKeys()
    refs: dict[str, TaskRow] = {}
    for record in rows:
        if isinstance(record, RowError):
            yield record
            continue
        try:
            row, ref = _task(record, columns, keys, refs)
        except ValueError as exc:
            yield RowError(record.line, str(exc))
            continue
        if ref:
            refs[ref] = row
        yield row


def _header_problem(columns: list[str]) -> str | None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        return f"unknown columns: {', '.join(unknown[:5])} (known: {', '.join(COLUMNS)})"
    if len(set(columns)) != len(columns):
        return "a column appears twice"
    if "title" not in columns:
        return "the title column is required"
    return None


def _task(
    record: Record, columns: list[str], keys: DedupeKeys, refs: dict[str, TaskRow]
) -> tuple[TaskRow, str]:
    if len(record.fields) > len(columns):
        raise ValueError(f"{len(record.fields)} fields but {len(columns)} columns")
    cell = dict(zip(columns, (unescape_cell(f) for f in record.fields), strict=False))
    project = cell.get("project", "").strip() or None
    if project is not None and len(project) > MAX_PROJECT:
        raise ValueError(f"project name is longer than {MAX_PROJECT} characters")
    ref = cell.get("ref", "").strip()
    if ref and ref in refs:
        raise ValueError(f"ref {ref!r} is used by an earlier row")
    parent = _parent(cell.get("parent", "").strip(), project, refs)
    row = task_row(
        record.line,
        title=cell.get("title", ""),
        description=cell.get("description", ""),
        labels=cell.get("labels", "").split(";"),
        done=_bool(cell.get("done", "")),
        priority=_priority(cell.get("priority", "")),
        due_at=_due(cell.get("due_at", "")),
        project=project,
    )
    return keys.keyed("task", row, parent), ref


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"done must be true or false, not {raw[:20]!r}")


def _priority(raw: str) -> int:
    value = raw.strip()
    if not value:
        return 0
    if value not in ("0", "1", "2", "3", "4"):
        raise ValueError(f"priority must be 0..4, not {raw[:20]!r}")
    return int(value)


def _due(raw: str) -> datetime | None:
    value = raw.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"due_at is not an RFC 3339 date-time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise ValueError("due_at needs an offset, e.g. 2026-05-01T09:00:00Z")
    return parsed.astimezone(UTC)


def _parent(ref: str, project: str | None, refs: dict[str, TaskRow]) -> TaskRow | None:
    if not ref:
        return None
    parent = refs.get(ref)
    if parent is None:
        raise ValueError(f"parent {ref!r} is not an earlier imported row")
    if parent.project != project:
        raise ValueError(f"parent {ref!r} is in another project")
    return parent
