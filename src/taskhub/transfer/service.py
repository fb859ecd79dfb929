"""Imports: staging an upload, applying it in slices, reporting progress. Never commits.

Tasks are created by `tasks.service.create_task` and projects by
`projects.service.create_project`, the same code the API runs, so an imported row obeys
every rule a POST does (and fails the same way, as a row error). Each row runs in a
SAVEPOINT: a bad row is rolled back alone and the rest goes on. A created task's
comments are created by `comments.service.create_comment` (the importing user is the
author); a comment it refuses is an error on its own line and the task stays.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import orjson
from pydantic import ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.comments import service as comments
from taskhub.comments.schemas import CommentIn
from taskhub.db import utcnow
from taskhub.errors import DomainError, NotFound
from taskhub.jobs.outbox import enqueue
from taskhub.jobs.registry import Job
from taskhub.projects import service as projects
from taskhub.projects.access import visible_projects
from taskhub.projects.schemas import ProjectCreate
from taskhub.tasks import service as tasks
from taskhub.tasks.schemas import TaskCreate
from taskhub.transfer.models import (
    Import,
    ImportFormat,
    ImportKey,
    ImportRow,
    ImportStatus,
    RowState,
)
from taskhub.transfer.records import RowError
from taskhub.transfer.staging import NumbersTooLarge, Staged, detect, stage

IMPORT_JOB = "transfer.import"
MAX_ERRORS = 1000  # kept per import; `failed` counts every one
STAGE_BATCH = 2000  # staged rows inserted per statement
SLICE_ROWS = 250  # rows applied per job: one short transaction (SQLite has one writer)
MAX_DEPTH = 100  # parent chains followed ahead of file order
# What an imported task may set: TaskCreate's fields (so fields added to tasks later,
# such as recurrence, timezone or remind_at, are imported as soon as TaskCreate has
# them), less the references the import resolves itself.
TASK_FIELDS = frozenset(TaskCreate.model_fields) - {"project_id", "parent_id"}


@dataclass(frozen=True, slots=True)
class ImportReport:
    id: uuid.UUID
    status: ImportStatus
    format: ImportFormat
    total: int
    processed: int
    created: int
    skipped: int
    failed: int
    errors: list[dict[str, Any]]


def _report(record: Import) -> ImportReport:
    return ImportReport(
        id=record.id,
        status=record.status,
        format=record.format,
        total=record.total,
        processed=record.processed,
        created=record.created,
        skipped=record.skipped,
        failed=record.failed,
        # Parse errors are noted at upload, the others as rows are applied: by line.
        errors=sorted(record.errors, key=lambda error: int(error["line"])),
    )


def _note_error(record: Import, line: int, reason: str) -> None:
    record.failed += 1
    if len(record.errors) < MAX_ERRORS:
        record.errors = [*record.errors, {"line": line, "reason": reason[:500]}]


# Staging -------------------------------------------------------------------------------


@dataclass
class _Parsed:
    """An upload parsed to staged rows, spooled to a local file (one JSON array a line)."""

    rows: IO[bytes]
    count: int
    failed: int
    errors: list[dict[str, Any]]


def _parse(fmt: ImportFormat, upload: IO[bytes]) -> _Parsed:
    """Run the reader over the whole upload (in a thread; no database involved)."""
    try:
        return _parse_with(fmt, upload, exact=False)
    except NumbersTooLarge:
        return _parse_with(fmt, upload, exact=True)


def _parse_with(fmt: ImportFormat, upload: IO[bytes], *, exact: bool) -> _Parsed:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by create_import
    parsed = _Parsed(rows=spool, count=0, failed=0, errors=[])
    try:
        _spool_rows(stage(fmt, upload, exact=exact), parsed)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return parsed


def _spool_rows(rows: Iterator[Staged | RowError], parsed: _Parsed) -> None:
    spool = parsed.rows
    for row in rows:
        if isinstance(row, RowError):
            parsed.failed += 1
            if len(parsed.errors) < MAX_ERRORS:
                parsed.errors.append({"line": row.line, "reason": row.reason[:500]})
            continue
        parsed.count += 1
        fields = [row.line, row.kind, row.ref, row.parent_ref, row.key, row.data]
        spool.write(orjson.dumps(fields) + b"\n")


def _read_staged(spool: IO[bytes], count: int) -> list[list[Any]]:
    return [orjson.loads(line) for line in itertools.islice(spool, count)]


async def create_import(
    session: AsyncSession,
    user_id: uuid.UUID,
    upload: IO[bytes],
    *,
    content_type: str | None,
    size: int,
    run_in_background: bool = True,
) -> ImportReport:
    """Parse the upload into staged rows and (by default) queue the job that applies them.

    Invalid when a JSON upload is not a taskhub export; a CSV's problems (even an
    empty file) are row errors in the report.
    The whole file is parsed (in a thread) before the transaction starts: on SQLite a
    write transaction holds the database's one write lock, so it only inserts.
    """
    fmt = detect(content_type, upload)
    parsed = await asyncio.to_thread(_parse, fmt, upload)
    with parsed.rows:
        record = Import(
            owner_id=user_id,
            format=fmt,
            size=size,
            total=parsed.count,
            failed=parsed.failed,
            errors=parsed.errors,
        )
        session.add(record)
        await session.flush()
        seq = 0
        while batch := await asyncio.to_thread(_read_staged, parsed.rows, STAGE_BATCH):
            values = []
            for line, kind, ref, parent_ref, key, data in batch:
                seq += 1
                values.append(
                    {
                        "import_id": record.id,
                        "seq": seq,
                        "line": line,
                        "kind": kind,
                        "ref": ref,
                        "parent_ref": parent_ref,
                        "key": key,
                        "data": data,
                        "state": RowState.pending,
                    }
                )
            await session.execute(insert(ImportRow), values)
    if run_in_background:
        enqueue(session, IMPORT_JOB, {"import_id": str(record.id)})
    await session.flush()
    return _report(record)


async def get_import(
    session: AsyncSession, user_id: uuid.UUID, import_id: uuid.UUID
) -> ImportReport:
    record = await session.get(Import, import_id)
    if record is None or record.owner_id != user_id:
        raise NotFound("Import")
    return _report(record)


# Applying ------------------------------------------------------------------------------


class RowFailed(Exception):
    """A staged row that cannot be applied; its reason goes into the import's errors."""


class _Slice:
    """Applies staged rows of one import for one job run."""

    def __init__(self, session: AsyncSession, record: Import) -> None:
        self.session = session
        self.record = record
        self.user_id = record.owner_id
        self.results: dict[int, tuple[RowState, uuid.UUID | None]] = {}  # seq -> outcome
        self.by_ref: dict[tuple[str, str], tuple[int, RowState, uuid.UUID | None, int]] = {}
        self.project_names: dict[str, uuid.UUID] | None = None
        # Dedupe key -> what it became before (None: looked up, never imported).
        self.known_keys: dict[str, uuid.UUID | None] = {}

    async def apply(self, row: ImportRow, depth: int = 0) -> None:
        """Apply one pending row (and, first, any parent later in the file)."""
        record = self.record
        try:
            async with self.session.begin_nested():
                target, created, refused = await self._apply(row, depth)
        except RowFailed as exc:
            outcome: tuple[RowState, uuid.UUID | None] = (RowState.failed, None)
            _note_error(record, row.line, str(exc))
        except ValidationError as exc:
            outcome = (RowState.failed, None)
            _note_error(record, row.line, _validation_reason(exc))
        except DomainError as exc:
            outcome = (RowState.failed, None)
            _note_error(record, row.line, exc.detail)
        else:
            outcome = (RowState.applied, target)
            if created:
                record.created += 1
            else:
                record.skipped += 1
            for line, reason in refused:  # noted once the task is there to stay
                _note_error(record, line, reason)
        record.processed += 1
        self.results[row.seq] = outcome
        if row.ref is not None:
            self.by_ref[(row.kind, row.ref)] = (row.seq, outcome[0], outcome[1], row.line)

    async def _apply(
        self, row: ImportRow, depth: int
    ) -> tuple[uuid.UUID, bool, list[tuple[int, str]]]:
        """What the row became, whether it was created, and its refused comments."""
        if row.kind not in ("project", "task"):
            # Notes are staged with their task; a row of another kind is not ours.
            raise RowFailed(f"unknown row kind {row.kind[:16]!r}")
        existing = await self._already_imported(row)
        if existing is not None:
            return existing, False, []  # its comments were imported with it
        refused: list[tuple[int, str]] = []
        if row.kind == "project":
            project = await projects.create_project(
                self.session, self.user_id, ProjectCreate.model_validate(row.data)
            )
            target = project.id
        else:
            target = await self._create_task(row, depth)
            refused = await self._create_comments(target, row.data.get("comments") or [])
        await self._remember(row.key, target)
        return target, True, refused

    async def _create_comments(
        self, task_id: uuid.UUID, staged: list[dict[str, Any]]
    ) -> list[tuple[int, str]]:
        """Comment on the new task in file order; (line, reason) for each refused.

        The service checks before it writes, so a refused comment leaves nothing behind.
        """
        refused = []
        for comment in staged:
            try:
                body = CommentIn.model_validate({"body": comment["body"]})
                await comments.create_comment(self.session, self.user_id, task_id, body)
            except ValidationError as exc:
                reason = _validation_reason(exc)
            except DomainError as exc:
                reason = exc.detail
            else:
                continue
            refused.append((int(comment["line"]), f"comment {comment['number']}: {reason}"))
        return refused

    async def load_keys(self, rows: Sequence[ImportRow]) -> None:
        """What this user imported before, for the keys of `rows` (one statement)."""
        keys = [row.key for row in rows]
        found = await self.session.execute(
            select(ImportKey.key, ImportKey.target_id).where(
                ImportKey.user_id == self.user_id, ImportKey.key.in_(keys)
            )
        )
        self.known_keys.update(dict.fromkeys(keys))
        self.known_keys.update({key: target for key, target in found})

    async def _already_imported(self, row: ImportRow) -> uuid.UUID | None:
        if row.key not in self.known_keys:  # a row applied ahead of its slice
            await self.load_keys([row])
        target = self.known_keys.get(row.key)
        if target is None:
            return None
        try:  # still there? a deleted one is imported again
            if row.kind == "project":
                await projects.get_project(self.session, target, self.user_id)
            else:
                await tasks.get_task_row(self.session, self.user_id, target)
        except NotFound:
            return None
        return target

    async def _remember(self, key: str, target: uuid.UUID) -> None:
        if self.known_keys.get(key) is not None:  # stored before, its object since deleted
            await self.session.execute(
                update(ImportKey)
                .where(ImportKey.user_id == self.user_id, ImportKey.key == key)
                .values(target_id=target)
            )
        else:
            await self.session.execute(
                insert(ImportKey).values(user_id=self.user_id, key=key, target_id=target)
            )
        self.known_keys[key] = target

    async def _create_task(self, row: ImportRow, depth: int) -> uuid.UUID:
        data = row.data
        unknown = sorted(set(data) - TASK_FIELDS - {"project_ref", "project_name", "comments"})
        if unknown:
            raise RowFailed(f"unknown fields: {', '.join(unknown[:5])}")
        fields = {k: v for k, v in data.items() if k in TASK_FIELDS}
        if self.record.format is ImportFormat.json:
            fields.setdefault("description", "")
        project_id = None
        if data.get("project_ref") is not None:
            project_id = await self._resolve("project", data["project_ref"], depth)
        elif data.get("project_name"):
            project_id = await self._project_named(data["project_name"])
        parent_id = None
        if row.parent_ref is not None:
            parent_id = await self._resolve("task", row.parent_ref, depth)
        create = TaskCreate.model_validate(
            {**fields, "project_id": project_id, "parent_id": parent_id}
        )
        write = await tasks.create_task(self.session, self.user_id, create)
        assert write.row is not None
        task_id: uuid.UUID = write.row["id"]
        return task_id

    async def _resolve(self, kind: str, ref: str, depth: int) -> uuid.UUID:
        """What the staged row `ref` became, applying it first if it comes later."""
        what = "parent" if kind == "task" else "project"
        known = self.by_ref.get((kind, ref))
        if known is None:
            staged = await self.session.scalar(
                select(ImportRow).where(
                    ImportRow.import_id == self.record.id,
                    ImportRow.kind == kind,
                    ImportRow.ref == ref,
                )
            )
            if staged is None:
                raise RowFailed(f"its {what} {ref[:64]!r} is not in the file")
            if staged.state is RowState.pending:
                if depth >= MAX_DEPTH:
                    raise RowFailed(f"its {what} chain is deeper than {MAX_DEPTH}")
                await self.apply(staged, depth + 1)
                known = self.by_ref[(kind, ref)]
            else:
                known = (staged.seq, staged.state, staged.target_id, staged.line)
        _seq, state, target, line = known
        if state is not RowState.applied or target is None:
            raise RowFailed(f"its {what} on line {line} was not imported")
        return target

    async def _project_named(self, name: str) -> uuid.UUID:
        """The caller's writable project called `name`, created when there is none."""
        if self.project_names is None:
            rows = await self.session.execute(visible_projects(self.user_id))
            self.project_names = {}
            for project, role in sorted(rows, key=lambda r: r[0].created_at):
                if role.can_write_tasks:
                    self.project_names.setdefault(project.name, project.id)
        found = self.project_names.get(name)
        if found is None:
            created = await projects.create_project(
                self.session, self.user_id, ProjectCreate(name=name)
            )
            found = self.project_names[name] = created.id
        return found

    async def save_outcomes(self) -> None:
        if not self.results:
            return
        await self.session.execute(
            update(ImportRow),
            [
                {"import_id": self.record.id, "seq": seq, "state": state, "target_id": target}
                for seq, (state, target) in self.results.items()
            ],
        )


def _validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    return f"{where}: {first['msg']}"


async def apply_slice(session: AsyncSession, import_id: uuid.UUID) -> bool:
    """Apply the next `SLICE_ROWS` staged rows; True while rows remain."""
    record = await session.get(Import, import_id, with_for_update=True)
    if record is None or record.status is ImportStatus.done:
        return False
    record.status = ImportStatus.running
    rows = (
        await session.scalars(
            select(ImportRow)
            .where(ImportRow.import_id == import_id, ImportRow.seq > record.cursor)
            .order_by(ImportRow.seq)
            .limit(SLICE_ROWS)
        )
    ).all()
    work = _Slice(session, record)
    await work.load_keys(rows)
    for row in rows:
        if row.state is RowState.pending and row.seq not in work.results:
            await work.apply(row)
    await work.save_outcomes()
    if rows:
        record.cursor = rows[-1].seq
    record.updated_at = utcnow()
    if len(rows) < SLICE_ROWS:
        record.status = ImportStatus.done
        record.finished_at = utcnow()
        await session.execute(delete(ImportRow).where(ImportRow.import_id == import_id))
        return False
    return True


async def run_import_job(session: AsyncSession, job: Job) -> None:
    """The `transfer.import` job: one slice, then the next slice queued in this commit."""
    if await apply_slice(session, uuid.UUID(str(job.payload["import_id"]))):
        enqueue(session, IMPORT_JOB, job.payload)
