"""Todoist's CSV export (one project per file).

Header: `TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,
TIMEZONE,...` (later columns such as DURATION or DEADLINE are ignored). Rows by TYPE:

- `task`: CONTENT is the title; `@word`s in it become labels (Todoist writes labels
  inline). INDENT 1 is top level, INDENT n+1 a subtask of the nearest task above with
  a smaller INDENT. A subtask of a row that failed fails too (it has no parent).
- `section`: taskhub has no sections; the section name (cut to 50 characters) is added
  as a label to the tasks below it, until the next section.
- `note`: a comment on the task above it (a note before any task is an error).
- an empty TYPE (Todoist's spacer rows) is skipped; any other TYPE is a row error.

PRIORITY: Todoist exports the API value, 4 for p1 (its highest, red) down to 1 for p4
(its default, "no priority"). taskhub's 4 is urgent and 0 none, so 4→4, 3→3, 2→2 and
1→0.

DATE: `YYYY-MM-DD` (due at 00:00) or `YYYY-MM-DD HH:MM[:SS]`/`YYYY-MM-DDTHH:MM[:SS]`,
read in the row's TIMEZONE (UTC when empty or unknown). Natural-language dates
("every monday", "tomorrow") cannot be read without Todoist; the task is imported
without a due date and the row carries a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taskhub.transfer.csvread import Record, split_header
from taskhub.transfer.dedupe import DedupeKeys
from taskhub.transfer.records import (
    MAX_COMMENT,
    MAX_LABEL,
    NoteRow,
    Row,
    RowError,
    TaskRow,
    task_row,
)

REQUIRED = ("TYPE", "CONTENT", "PRIORITY", "INDENT")
PRIORITY_MAP = {"4": 4, "3": 3, "2": 2, "1": 0, "": 0}
MAX_INDENT = 5
_INLINE_LABEL = re.compile(r"(?<!\S)@([\w-]{1,50})(?!\S)")
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
)


def is_todoist_header(fields: list[str]) -> bool:
    """Whether a CSV header row is Todoist's."""
    names = [f.strip().upper() for f in fields]
    return names[:2] == ["TYPE", "CONTENT"]


class _State:
    """Where the reader is: the open task chain by indent, the current section."""

    def __init__(self) -> None:
        self.keys = DedupeKeys()
        self.chain: list[tuple[int, TaskRow | RowError]] = []  # (indent, row), ascending
        self.section: str | None = None
        self.last_task: TaskRow | RowError | None = None


def read_todoist_csv(lines: Iterable[str]) -> Iterator[Row]:
    """TaskRow, NoteRow or RowError for every row; a header problem is one RowError."""
    header, rows = split_header(lines)
    if isinstance(header, RowError):
        yield header
        return
    columns = {name.strip().upper(): i for i, name in enumerate(header.fields)}
    missing = [c for c in REQUIRED if c not in columns]
    if missing or not is_todoist_header(header.fields):
        yield RowError(header.line, f"not a Todoist CSV header (missing {', '.join(missing)})")
        return
    state = _State()
    for record in rows:
        if isinstance(record, RowError):
            yield record
            continue
        cell = {name: _field(record, i) for name, i in columns.items()}
        kind = cell["TYPE"].strip().lower()
        if kind == "":
            continue
        if kind == "section":
            state.section = cell["CONTENT"].strip()[:MAX_LABEL] or None
            state.chain.clear()
            state.last_task = None
            continue
        if kind == "note":
            yield _note(record.line, cell, state)
            continue
        if kind != "task":
            yield RowError(record.line, f"unknown TYPE {cell['TYPE'][:20]!r}")
            continue
        yield _task(record.line, cell, state)


def _field(record: Record, index: int) -> str:
    return record.fields[index] if index < len(record.fields) else ""


def _task(line: int, cell: dict[str, str], state: _State) -> TaskRow | RowError:
    indent_raw = cell["INDENT"].strip() or "1"
    if not indent_raw.isdigit() or not 1 <= int(indent_raw) <= MAX_INDENT:
        result: TaskRow | RowError = RowError(line, f"INDENT must be 1..{MAX_INDENT}")
        state.last_task = result
        return result
    indent = int(indent_raw)
    while state.chain and state.chain[-1][0] >= indent:
        state.chain.pop()
    parent = state.chain[-1][1] if state.chain and indent > 1 else None
    try:
        result = _task_row(line, cell, state, parent)
    except ValueError as exc:
        result = RowError(line, str(exc))
    state.chain.append((indent, result))
    state.last_task = result
    return result


def _task_row(
    line: int, cell: dict[str, str], state: _State, parent: TaskRow | RowError | None
) -> TaskRow:
    if isinstance(parent, RowError):
        raise ValueError(f"its parent on line {parent.line} was not imported")
    content = cell["CONTENT"]
    inline = _INLINE_LABEL.findall(content)
    priority_raw = cell["PRIORITY"].strip()
    if priority_raw not in PRIORITY_MAP:
        raise ValueError(f"PRIORITY must be 1..4, not {priority_raw[:10]!r}")
    due_at, warning = _date(cell.get("DATE", ""), cell.get("TIMEZONE", ""))
    row = task_row(
        line,
        title=" ".join(_INLINE_LABEL.sub(" ", content).split()) if inline else content,
        description=cell.get("DESCRIPTION", ""),
        labels=inline + ([state.section] if state.section else []),
        priority=PRIORITY_MAP[priority_raw],
        due_at=due_at,
        warnings=(warning,) if warning else (),
    )
    return state.keys.keyed("todoist-task", row, parent)


def _note(line: int, cell: dict[str, str], state: _State) -> NoteRow | RowError:
    task = state.last_task
    if task is None:
        return RowError(line, "a note before any task")
    if isinstance(task, RowError):
        return RowError(line, f"its task on line {task.line} was not imported")
    body = cell["CONTENT"]
    if not body.strip():
        return RowError(line, "an empty note")
    if len(body) > MAX_COMMENT:
        return RowError(line, f"note is longer than {MAX_COMMENT} characters")
    return NoteRow(line=line, key=state.keys.note_key(body, task), task_line=task.line, body=body)


def _date(raw: str, timezone: str) -> tuple[datetime | None, str | None]:
    value = raw.strip()
    if not value:
        return None, None
    zone = _zone(timezone.strip())
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=zone).astimezone(UTC), None
    return None, f"DATE {value[:40]!r} not understood; imported without a due date"


def _zone(name: str) -> ZoneInfo:
    if not name or len(name) > 64:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")
