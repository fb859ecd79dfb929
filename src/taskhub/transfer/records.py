"""What a CSV reader yields: a task to create, a note on one, or a row-level error."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TypedDict, Unpack

# SPEC §4 limits, repeated here so a bad row is reported with its line, not at insert.
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_LABELS = 20
MAX_LABEL = 50
MAX_COMMENT = 10_000


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A task to create. `line` is where its record starts (the header is line 1).

    `parent_line` names the row of its parent task (created first: readers only refer
    back), `project` a project by name (None: the inbox). `key` is the dedupe key.
    """

    line: int
    key: str
    title: str
    description: str = ""
    done: bool = False
    priority: int = 0
    due_at: datetime | None = None
    labels: tuple[str, ...] = ()
    project: str | None = None
    parent_line: int | None = None
    warnings: tuple[str, ...] = field(default=())


# What a file's cells may set on a TaskRow; the other fields are the reader's bookkeeping.
CELLS = tuple(
    f.name for f in fields(TaskRow) if f.name not in {"line", "key", "parent_line", "warnings"}
)


@dataclass(frozen=True, slots=True)
class NoteRow:
    """A comment on the task of `task_line` (Todoist `note` rows)."""

    line: int
    key: str
    task_line: int
    body: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was not imported, and why; the rows after it still are."""

    line: int
    reason: str


Row = TaskRow | NoteRow | RowError


def clean_labels(raw: list[str]) -> tuple[str, ...]:
    """Labels stripped, empties dropped, duplicates dropped keeping order; ValueError if
    there are too many or one is too long."""
    labels = list(dict.fromkeys(label.strip() for label in raw if label.strip()))
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    if any(len(label) > MAX_LABEL for label in labels):
        raise ValueError(f"labels are at most {MAX_LABEL} characters")
    return tuple(labels)


def check_title(title: str) -> str:
    if not title.strip():
        raise ValueError("title is empty")
    if len(title) > MAX_TITLE:
        raise ValueError(f"title is longer than {MAX_TITLE} characters")
    return title


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise ValueError(f"description is longer than {MAX_DESCRIPTION} characters")
    return description


class _Cells(TypedDict, total=False):
    done: bool
    priority: int
    due_at: datetime | None
    project: str | None
    warnings: tuple[str, ...]


def task_row(
    line: int, *, title: str, description: str, labels: list[str], **cells: Unpack[_Cells]
) -> TaskRow:
    """The row every reader builds: title, description and labels checked here (ValueError
    names the first bad one), the other cells already parsed; `DedupeKeys.keyed` sets the key."""
    return TaskRow(
        line=line,
        key="",
        title=check_title(title),
        description=check_description(description),
        labels=clean_labels(labels),
        **cells,
    )
