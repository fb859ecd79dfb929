"""/api/v1/search: full-text, semantic or both, over the tasks the caller sees."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from taskhub.auth.deps import CallerDep
from taskhub.deps import ReaderDep
from taskhub.routing import error_responses, parse_id
from taskhub.search import service
from taskhub.search.schemas import SearchMode, SearchOut
from taskhub.search.text import Scope
from taskhub.tasks.encode import encode_scored
from taskhub.tasks.schemas import SearchText

router = APIRouter(prefix="/api/v1", tags=["search"])


def _vectors(request: Request) -> service.VectorRanking | None:
    """The vector side of search, once embeddings set `app.state.vector_ranking`."""
    ranking: service.VectorRanking | None = getattr(request.app.state, "vector_ranking", None)
    return ranking


@router.get(
    "/search",
    response_model=SearchOut,
    operation_id="search_tasks",
    responses=error_responses(
        401, 404, 409, 429, 503, e409="Semantic search is not enabled on this server"
    ),
)
async def search_tasks(
    caller: CallerDep,
    session: ReaderDep,
    request: Request,
    q: Annotated[SearchText, Query(min_length=1, max_length=500)],
    mode: SearchMode = "hybrid",
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many results")] = 20,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    done: bool | None = None,
) -> Response:
    scope = Scope(
        project_id=parse_id(project_id, "Project") if project_id is not None else None,
        done=done,
    )
    found = await service.search(
        session,
        caller.user_id,
        service.SearchRequest(q=q, mode=mode, limit=limit, scope=scope),
        _vectors(request),
    )
    return Response(encode_scored(found.hits, mode=found.mode), media_type="application/json")
