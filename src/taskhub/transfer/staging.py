"""An upload, parsed once into the rows the import job will apply (synchronous).

Formats (decided from the Content-Type, else from the first bytes):

- `application/json`, or a body starting with `{` sent without a CSV type: taskhub's
  export document (`"format": "taskhub-export"`, `"version": 1`). Its `projects` and
  `tasks` arrays are read item by item (ijson), so memory does not grow with the file.
  Error "lines" are the item's 1-based position in its array.
- otherwise (`text/csv`, `application/octet-stream`, ...): CSV, Todoist's export when
  the header starts `TYPE,CONTENT`, taskhub's plain CSV otherwise (see `plain_csv` for
  the columns). Error lines are file lines.

Every staged row carries a dedupe key. CSV keys come from the readers; a JSON item's key
is a hash of its content and its export id, so the same document imported twice is
recognised while two exports of different accounts never collide.

Comments travel with their task: a staged task's `data["comments"]` is a list of
`{"body", "line", "number"}` (a JSON task's `comments`, or the Todoist `note` rows
below a task, each with its own line; `number` counts the task's comments in the
file), created after the task and only when the task is. They are not part of the
task's key, so a task found already imported skips its comments too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
import orjson

from taskhub.errors import Invalid
from taskhub.transfer.csvread import text_lines
from taskhub.transfer.formats import read_csv
from taskhub.transfer.models import ImportFormat
from taskhub.transfer.records import NoteRow, RowError, TaskRow
from taskhub.transfer.todoist import is_todoist_header

EXPORT_FORMAT = "taskhub-export"
EXPORT_VERSION = 1
MAX_REF = 64
# Fields of an exported task the import sends to task creation (through TaskCreate).
# Fields added to tasks later (recurrence, timezone, remind_at) are passed on when
# TaskCreate knows them: see `transfer.service.TASK_FIELDS`.
_CSV_TYPES = frozenset({"text/csv", "application/octet-stream"})
_VOLATILE = ("id", "project_id", "parent_id", "created_at", "updated_at", "completed_at")
# Not in a task's key: timestamps, and comments (they follow the task's dedupe, and an
# export from before comments keys its tasks the same).
_UNKEYED = frozenset({*_VOLATILE[3:], "comments"})


@dataclass(frozen=True, slots=True)
class Staged:
    line: int
    kind: str  # "project" or "task"
    key: str
    data: dict[str, Any]
    ref: str | None = None
    parent_ref: str | None = None


def detect(content_type: str | None, upload: IO[bytes]) -> ImportFormat:
    """Which reader the upload needs; the file is left at its start."""
    media = (content_type or "").split(";")[0].strip().lower()
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if media == "application/json":
        return ImportFormat.json
    if media not in _CSV_TYPES and stripped.startswith(b"{"):
        return ImportFormat.json
    first_line = stripped.decode("utf-8", "replace").splitlines()[0] if stripped else ""
    header = [name.strip().strip('"') for name in first_line.split(",")]
    return ImportFormat.todoist if is_todoist_header(header) else ImportFormat.csv


class NumbersTooLarge(Exception):
    """The fast JSON parser met an integer beyond 64 bits: parse again with `exact=True`."""


def stage(
    fmt: ImportFormat, upload: IO[bytes], *, exact: bool = False
) -> Iterator[Staged | RowError]:
    """The rows of the upload in file order; Invalid if it is not that format at all.

    JSON is read by ijson's C backend, which refuses integers beyond 64 bits (valid JSON
    all the same): it raises NumbersTooLarge, and `exact=True` uses the slower pure
    Python backend, which reads them.
    """
    upload.seek(0)
    if fmt is ImportFormat.json:
        return _stage_json(upload, _PRECISE if exact else ijson)
    return _stage_csv(upload)


# CSV -----------------------------------------------------------------------------------


def _stage_csv(upload: IO[bytes]) -> Iterator[Staged | RowError]:
    """The CSV's rows, each task held back until the notes below it are attached."""
    held: Staged | None = None
    for row in read_csv(text_lines(upload)):
        if isinstance(row, RowError):
            yield row
        elif isinstance(row, TaskRow):
            if held is not None:
                yield held
            held = _csv_task(row)
        elif isinstance(row, NoteRow):
            if held is None or held.ref != str(row.task_line):
                # The readers only attach a note to the task just above it.
                yield RowError(row.line, "a note that does not follow its task")
                continue
            said = held.data["comments"]
            said.append({"body": row.body, "line": row.line, "number": len(said) + 1})
    if held is not None:
        yield held


def _csv_task(row: TaskRow) -> Staged:
    return Staged(
        line=row.line,
        kind="task",
        key=row.key,
        ref=str(row.line),
        parent_ref=str(row.parent_line) if row.parent_line else None,
        data={
            "title": row.title,
            "description": row.description,
            "done": row.done,
            "priority": row.priority,
            "due_at": row.due_at.isoformat() if row.due_at else None,
            "labels": list(row.labels),
            "project_name": row.project,
            "comments": [],
        },
    )


# JSON ----------------------------------------------------------------------------------


def _storable(value: Any) -> bytes:
    """`value` as sorted JSON; ValueError if it cannot be stored (lone surrogates, NUL)."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        raise ValueError("not valid Unicode text") from None
    if b"\\u0000" in text:
        # Neither database stores NUL in text (PostgreSQL's JSONB neither).
        raise ValueError("contains a NUL character")
    return text


def _json_key(kind: str, item: dict[str, Any]) -> str:
    """The item's dedupe key; ValueError if it cannot be stored."""
    text = _storable([EXPORT_FORMAT, EXPORT_VERSION, kind, item])
    return hashlib.sha256(text).hexdigest()


def _json_comments(number: int, value: Any) -> tuple[list[dict[str, Any]], list[RowError]]:
    """A task's `comments` that can be staged, and a row error (on the task's line) for
    each that cannot. Blank or too long bodies are the comments service's to refuse."""
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [RowError(number, "comments: not an array")]
    staged: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for position, comment in enumerate(value, start=1):
        try:
            if not isinstance(comment, dict):
                raise ValueError("not an object")
            body = comment.get("body")
            if not isinstance(body, str):
                raise ValueError("body must be a string")
            _storable(body)
        except ValueError as exc:
            errors.append(RowError(number, f"comment {position}: {exc}"))
            continue
        staged.append({"body": body, "line": number, "number": position})
    return staged, errors


def _ref(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_REF:
        raise ValueError(f"references must be strings of 1..{MAX_REF} characters")
    return value


_ARRAYS = ("projects", "tasks")
_PRECISE = ijson.get_backend("python")


def _json_error(exc: Exception, backend: Any) -> Exception:
    if "integer overflow" in str(exc) and backend is not _PRECISE:
        return NumbersTooLarge()
    return Invalid(f"Not valid JSON: {str(exc)[:200]}")


def _check_header(upload: IO[bytes], backend: Any) -> None:
    """Invalid unless the top level says it is a taskhub export (keys in any order) and
    `projects`/`tasks`, where present, are arrays. Stops reading once it knows: at the
    start of `tasks` for a document in the order the export writes."""
    found: dict[str, Any] = {}
    try:
        for prefix, event, value in backend.parse(upload, use_float=True):
            if prefix in ("format", "version") and event in ("string", "number"):
                found[prefix] = value
            elif prefix in _ARRAYS and event != "start_array" and prefix not in found:
                raise Invalid(f"{prefix} must be an array")
            elif prefix in _ARRAYS and event == "start_array":
                found[prefix] = True
            if len(found) == 4:
                break
    except ijson.JSONError as exc:
        raise _json_error(exc, backend) from None
    if found.get("format") != EXPORT_FORMAT or found.get("version") != EXPORT_VERSION:
        raise Invalid(
            f'A JSON import must be a taskhub export: "format": "{EXPORT_FORMAT}", '
            f'"version": {EXPORT_VERSION}'
        )
    upload.seek(0)


def _items(upload: IO[bytes], path: str, backend: Any) -> Iterator[tuple[int, Any]]:
    upload.seek(0)
    yield from enumerate(backend.items(upload, f"{path}.item", use_float=True), start=1)


def _stage_json(upload: IO[bytes], backend: Any) -> Iterator[Staged | RowError]:
    _check_header(upload, backend)
    try:
        yield from _json_projects(upload, backend)
        yield from _json_tasks(upload, backend)
    except ijson.JSONError as exc:
        if isinstance(_json_error(exc, backend), NumbersTooLarge):
            raise NumbersTooLarge from None
        yield RowError(0, f"the document stops being valid JSON: {str(exc)[:200]}")


def _json_projects(upload: IO[bytes], backend: Any) -> Iterator[Staged | RowError]:
    for number, item in _items(upload, "projects", backend):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            ref = _ref(item.get("id"))
            data = {"name": item.get("name"), "description": item.get("description", "")}
            key = _json_key("project", {"id": ref, **data})
        except ValueError as exc:
            yield RowError(number, f"project: {exc}")
            continue
        yield Staged(line=number, kind="project", key=key, ref=ref, data=data)


def _json_tasks(upload: IO[bytes], backend: Any) -> Iterator[Staged | RowError]:
    for number, item in _items(upload, "tasks", backend):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            ref = _ref(item.get("id"))
            parent_ref = _ref(item.get("parent_id"))
            project_ref = _ref(item.get("project_id"))
            key = _json_key("task", {k: v for k, v in item.items() if k not in _UNKEYED})
        except ValueError as exc:
            yield RowError(number, str(exc))
            continue
        data = {k: v for k, v in item.items() if k not in _VOLATILE and k != "comments"}
        data["project_ref"] = project_ref
        data["comments"], errors = _json_comments(number, item.get("comments"))
        yield from errors
        yield Staged(line=number, kind="task", key=key, ref=ref, parent_ref=parent_ref, data=data)
