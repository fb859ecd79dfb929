"""Search (SPEC §7): one answer from the text ranking, the vector ranking, or both fused.

`search` never builds SQL itself: the text side is `search.text`, the vector side a
`VectorRanking` plugged in by whoever owns embeddings (None while none exist). Both
sides see only what the caller sees, so the fusion cannot leak a task: it merges two
visible rankings and loads rows through the same visibility rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.errors import Conflict, NotFound
from taskhub.search.embedders import DISABLED as SEMANTIC_DISABLED
from taskhub.search.text import Scope, rank_by_text, visible_rows
from taskhub.tasks.access import sees_project

Mode = Literal["hybrid", "semantic", "text"]
# Reciprocal rank fusion's constant (Cormack et al., SIGIR 2009): large enough that the
# first few ranks of one list do not drown a task both lists rank well.
RRF_K = 60


@dataclass(frozen=True, slots=True)
class SearchRequest:
    q: str
    mode: Mode = "hybrid"
    limit: int = 20
    scope: Scope = field(default_factory=Scope)


# The vector side: (task id, score) best first, at most `request.limit`, only tasks the
# caller sees within `request.scope`; None when vectors are unavailable (no embedder,
# model still loading, no vector store), and search then answers from text alone.
VectorRanking = Callable[
    [AsyncSession, uuid.UUID, SearchRequest], Awaitable[list[tuple[uuid.UUID, float]] | None]
]


@dataclass(frozen=True, slots=True)
class SearchResult:
    mode: Mode  # the mode actually used
    hits: list[tuple[RowMapping, float]]  # (task row, score), best first


async def search(
    session: AsyncSession,
    user_id: uuid.UUID,
    request: SearchRequest,
    vectors: VectorRanking | None = None,
) -> SearchResult:
    project_id = request.scope.project_id
    if project_id is not None and not await sees_project(session, user_id, project_id):
        raise NotFound("Project")
    if request.mode == "text":
        return SearchResult("text", await _text(session, user_id, request))
    vector = None if vectors is None else await vectors(session, user_id, request)
    if request.mode == "semantic":
        if vector is None:
            raise Conflict(SEMANTIC_DISABLED)
        return SearchResult("semantic", await _rows(session, user_id, request, vector))
    text = await _text(session, user_id, request)
    if vector is None:
        return SearchResult("text", text)
    return SearchResult("hybrid", await _fused(session, user_id, request, text, vector))


async def _text(
    session: AsyncSession, user_id: uuid.UUID, request: SearchRequest
) -> list[tuple[RowMapping, float]]:
    return await rank_by_text(session, user_id, request.q, request.scope, request.limit)


async def _rows(
    session: AsyncSession,
    user_id: uuid.UUID,
    request: SearchRequest,
    ranking: list[tuple[uuid.UUID, float]],
) -> list[tuple[RowMapping, float]]:
    """The ranking's tasks as rows, in order; any the caller does not see are dropped."""
    rows = await visible_rows(session, user_id, [ident for ident, _ in ranking], request.scope)
    return [(rows[ident], score) for ident, score in ranking if ident in rows][: request.limit]


def fuse(*rankings: list[uuid.UUID]) -> list[tuple[uuid.UUID, float]]:
    """Reciprocal rank fusion: sum of 1 / (RRF_K + rank) over the lists; ties by id.

    Ranks, not scores, are combined: bm25, ts_rank_cd and cosine similarity live on
    unrelated scales, and rank fusion needs no calibration between them.
    """
    fused: dict[uuid.UUID, float] = {}
    for ranking in rankings:
        for rank, ident in enumerate(ranking, start=1):
            fused[ident] = fused.get(ident, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], str(item[0])))


async def _fused(
    session: AsyncSession,
    user_id: uuid.UUID,
    request: SearchRequest,
    text: list[tuple[RowMapping, float]],
    vector: list[tuple[uuid.UUID, float]],
) -> list[tuple[RowMapping, float]]:
    known = {row["id"]: row for row, _ in text}
    ranking = fuse([ident for ident in known], [ident for ident, _ in vector])
    missing = [ident for ident, _ in ranking if ident not in known]
    known.update(await visible_rows(session, user_id, missing, request.scope))
    hits = [(known[ident], score) for ident, score in ranking if ident in known]
    return hits[: request.limit]
