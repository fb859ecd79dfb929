"""Semantic search (SPEC §7): the embedding jobs, the vector ranking, similar and duplicates.

`Semantic` ties an `Embedder` to the database's vector store (`search.vectors`). It is
*ready* once the store exists, the model has loaded and the stored vectors are known to
come from this model; until then every request-path caller gets None / a 409 and search
answers from text. Nothing here embeds a task inside a request: task vectors are written
by the `search.embed` job (after each change of a title or description, batched with the
other pending ones) and by `search.reindex` / `taskhub reindex` (backfill, model change).
Queries are embedded in the request: one short text, on the embedder's own thread.

A model change (another name or dimension than the stored vectors') is detected when the
runtime gets ready: the store is emptied and rebuilt for the new dimension, and a
`search.reindex` job re-embeds every task, so two models' vectors never mix.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import RowMapping, Select, Uuid, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import Database
from taskhub.errors import Conflict, NotFound
from taskhub.jobs import outbox
from taskhub.jobs.registry import SEARCH_EMBED, SEARCH_REINDEX, Job
from taskhub.ops.logging import get_logger
from taskhub.search import vectors
from taskhub.search.embedders import DISABLED, Embedder, EmbeddingError, OffEmbedder
from taskhub.tasks.access import USER, sees_project, visible_task_row, visible_tasks
from taskhub.tasks.events import EMBED_TEXTS_KEY, ids_after, texts_of

log = get_logger(__name__)

EMBED_BATCH = 32  # tasks per job run: one forward pass, a short write transaction
REINDEX_BATCH = 64
LOADING = "Semantic search is starting (the embedding model is loading); try again shortly"
# Cosine similarity at or above which two task texts "probably say the same thing".
# Calibrated with all-MiniLM-L6-v2 on 36 hand-labelled pairs (18 duplicates, 18 related
# but different tasks: tests/search/data/duplicates.json) by scripts/calibrate_duplicates.py:
# 0.55-0.65 share the best F1 (0.947: precision 0.90, recall 1.00); the highest of them is
# kept, as a false warning costs the user more than a missed one. Another model needs
# its own calibration (an `openai` model's scores live on another scale).
DUPLICATE_THRESHOLD = 0.65
_IDS = bindparam("ids", type_=Uuid(), expanding=True)


def task_text(title: str, description: str) -> str:
    """What is embedded: the title, then the description when there is one."""
    return f"{title}\n{description}" if description else title


def content_hash(title: str, description: str) -> str:
    return hashlib.sha256(task_text(title, description).encode()).hexdigest()


class Scoped(Protocol):
    @property
    def project_id(self) -> uuid.UUID | None: ...

    @property
    def done(self) -> bool | None: ...


class Query(Protocol):
    """What the vector side needs of a search request (`search.service.SearchRequest`)."""

    @property
    def q(self) -> str: ...

    @property
    def limit(self) -> int: ...

    @property
    def scope(self) -> Scoped: ...


@dataclass(frozen=True, slots=True)
class Stale:
    row: Any  # texts_of's row: id, owner_id, project_id, done, title, description
    digest: str


State = Literal["off", "starting", "ready", "unavailable"]


class Semantic:
    """The embedder and the vector store of one process, and whether they can answer."""

    def __init__(self, embedder: Embedder, database: Database | None = None) -> None:
        self.embedder = embedder
        self.database = database
        self.state: State = "off" if isinstance(embedder, OffEmbedder) else "starting"
        self.reason: str | None = None
        self._preparing: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready" and self.embedder.ready

    def start(self) -> None:
        """Load the model and check the store in the background (the server answers meanwhile)."""
        if self.state == "off" or self._preparing is not None:
            return
        self.embedder.start()
        self._preparing = asyncio.get_running_loop().create_task(self._prepare())

    async def wait(self) -> None:
        """Until start-up work has finished (successfully or not)."""
        if self._preparing is not None:
            await asyncio.shield(self._preparing)

    async def _prepare(self) -> None:
        assert self.database is not None
        try:
            async with self.database.reader() as session:
                problem = await vectors.available(session)
            if problem is not None:
                self._unavailable(problem)
                return
            await self.embedder.embed(["taskhub"])  # waits for the load; learns the dimension
            async with self.database.writer() as session:
                await self.check_model(session)
                await session.commit()
        except (EmbeddingError, OSError) as exc:
            self._unavailable(str(exc))
            return
        self.state = "ready"
        log.info("semantic_search_ready", model=self.embedder.name)

    async def aclose(self) -> None:
        if self._preparing is not None:
            self._preparing.cancel()
            await asyncio.gather(self._preparing, return_exceptions=True)
        await self.embedder.aclose()

    def _unavailable(self, reason: str) -> None:
        self.state, self.reason = "unavailable", reason
        log.warning("semantic_search_unavailable", reason=reason)

    async def check_model(self, session: AsyncSession) -> bool:
        """Empty the store and queue a full re-embedding if its vectors are another model's.

        Returns True when it did.
        """
        dimension = self.embedder.dimension
        assert dimension is not None
        current = (self.embedder.name, dimension)
        found = await vectors.stored_models(session)
        if not found - {current}:
            return False
        log.warning(
            "embedding_model_changed",
            stored=sorted(f"{m} ({d})" for m, d in found),
            current=f"{current[0]} ({current[1]})",
        )
        await vectors.reset(session, dimension)
        outbox.enqueue(session, SEARCH_REINDEX, {"after": None})
        return True

    def require(self) -> None:
        """Raise the 409 SPEC §7 names when semantic answers are not possible now."""
        if self.state == "starting" or (self.state == "ready" and not self.embedder.ready):
            raise Conflict(LOADING)
        if not self.ready:
            raise Conflict(DISABLED)

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embedder.embed([text]))[0]

    # --- the vector side of /search ---------------------------------------------------

    async def rank(
        self, session: AsyncSession, user_id: uuid.UUID, request: Query
    ) -> list[tuple[uuid.UUID, float]] | None:
        """`search.service.VectorRanking`: None while semantic answers are unavailable."""
        if not self.ready:
            return None
        query = await self.embed_query(request.q)
        scope = request.scope
        return await vectors.nearest(
            session, user_id, query, request.limit, project_id=scope.project_id, done=scope.done
        )

    # --- writing vectors ------------------------------------------------------------------

    async def stale(self, session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Stale]:
        """Those of `ids` whose vector is missing, or from another text or model."""
        if not ids:
            return []
        rows = (await session.execute(texts_of(ids))).all()
        have = await vectors.stored(session, [row.id for row in rows])
        name, dimension = self.embedder.name, self.embedder.dimension
        found = []
        for row in rows:
            digest = content_hash(row.title, row.description)
            if dimension is None or have.get(row.id) != vectors.Stored(name, dimension, digest):
                found.append(Stale(row, digest))
        return found

    async def compute(self, todo: Sequence[Stale]) -> list[vectors.Row]:
        """The vectors of `todo` (no database access: may run outside any transaction)."""
        if not todo:
            return []
        texts = [task_text(item.row.title, item.row.description) for item in todo]
        embedded = await self.embedder.embed(texts)
        return [
            vectors.Row(
                item.row.id,
                item.row.owner_id,
                item.row.project_id,
                item.row.done,
                self.embedder.name,
                item.digest,
                vector,
            )
            for item, vector in zip(todo, embedded, strict=True)
        ]

    async def embed_tasks(self, session: AsyncSession, ids: Sequence[uuid.UUID]) -> int:
        """(Re-)embed those of `ids` whose text or model changed since; returns how many."""
        rows = await self.compute(await self.stale(session, ids))
        await vectors.save(session, rows)
        return len(rows)

    async def reindex_batch(
        self,
        session: AsyncSession,
        after: uuid.UUID | None,
        *,
        owner_id: uuid.UUID | None = None,
        size: int = REINDEX_BATCH,
    ) -> tuple[uuid.UUID | None, int]:
        """Embed the next `size` tasks in id order after `after`: (last id or None, embedded)."""
        ids = list((await session.scalars(ids_after(after, owner_id, size))).all())
        embedded = await self.embed_tasks(session, ids)
        return (ids[-1] if len(ids) == size else None), embedded

    # --- similar and duplicates -----------------------------------------------------------

    async def similar(
        self, session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, limit: int
    ) -> list[tuple[RowMapping, float]]:
        task = await visible_task_row(session, user_id, task_id)
        if task is None:
            raise NotFound("Task")
        self.require()
        query = await self.embed_query(task_text(task["title"], task["description"]))
        ranking = await vectors.nearest(session, user_id, query, limit + 1)
        ranking = [(ident, score) for ident, score in ranking if ident != task_id][:limit]
        return await visible_rows(session, user_id, ranking)

    async def duplicates(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        title: str,
        description: str,
        project_id: uuid.UUID | None,
    ) -> list[tuple[RowMapping, float]]:
        if project_id is not None and not await sees_project(session, user_id, project_id):
            raise NotFound("Project")
        self.require()
        query = await self.embed_query(task_text(title, description))
        ranking = await vectors.nearest(
            session, user_id, query, 10, project_id=project_id, done=False
        )
        ranking = [(ident, score) for ident, score in ranking if score >= DUPLICATE_THRESHOLD]
        return await visible_rows(session, user_id, ranking)


def _with_ids(place: Select[Any]) -> Select[Any]:
    return place.where(place.selected_columns.id.in_(_IDS))


async def visible_rows(
    session: AsyncSession, user_id: uuid.UUID, ranking: Sequence[tuple[uuid.UUID, float]]
) -> list[tuple[RowMapping, float]]:
    """The ranking's tasks as full rows, in order; any the caller does not see are dropped."""
    if not ranking:
        return []
    dialect = session.get_bind().dialect.name
    visible = visible_tasks(USER, _with_ids, dialect=dialect)
    params = {"user_id": user_id, "ids": [ident for ident, _ in ranking]}
    rows = {row["id"]: row for row in (await session.execute(select(visible), params)).mappings()}
    return [(rows[ident], score) for ident, score in ranking if ident in rows]


# --- the job bodies (registered in taskhub.wiring) --------------------------------------


def queue_text_jobs(database: Database, on: bool) -> None:
    """Whether task writes through `database` queue `search.embed` (see tasks.events)."""
    info = dict(database.writer.kw.get("info") or {})
    info[EMBED_TEXTS_KEY] = on
    database.writer.configure(info=info)


_installed: list[Semantic] = []


def install(semantic: Semantic) -> None:
    """Make `semantic` the runtime the job bodies of this process use."""
    _installed.append(semantic)


def uninstall(semantic: Semantic) -> None:
    if semantic in _installed:
        _installed.remove(semantic)


def _current() -> Semantic | None:
    return _installed[-1] if _installed else None


def _runtime_for_jobs() -> Semantic | None:
    """The installed runtime, or None if semantic search is off in this process.

    Still starting: the job fails and is retried with backoff, rather than waiting for
    the model inside its transaction (on SQLite that would hold the write lock).
    """
    semantic = _current()
    if semantic is None or semantic.state in ("off", "unavailable"):
        return None
    if semantic.state == "starting":
        raise EmbeddingError("the embedding model is still loading")
    return semantic


async def embed_job(session: AsyncSession, job: Job) -> None:
    """`search.embed`: this task and other pending ones, in one batch.

    The other tasks' own messages run later and find their vectors current (content
    hash): a burst of writes costs one forward pass per batch, not one per task.
    """
    semantic = _runtime_for_jobs()
    if semantic is None:
        return
    ids = {uuid.UUID(job.payload["task_id"])}
    for payload in await outbox.pending_payloads(session, SEARCH_EMBED, EMBED_BATCH - 1):
        ids.add(uuid.UUID(payload["task_id"]))
    await semantic.embed_tasks(session, sorted(ids))


async def reindex_job(session: AsyncSession, job: Job) -> None:
    """`search.reindex`: one batch of every task in id order, then the next as a new job."""
    semantic = _runtime_for_jobs()
    if semantic is None:
        return
    after = job.payload.get("after")
    last, _ = await semantic.reindex_batch(session, uuid.UUID(after) if after else None)
    if last is not None:
        outbox.enqueue(session, SEARCH_REINDEX, {"after": str(last)})
