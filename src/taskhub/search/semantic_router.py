"""Similar tasks, duplicate warnings and /ask (SPEC §7) over the caller's visible tasks."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response

from taskhub.auth.deps import CallerDep
from taskhub.deps import ReaderDep
from taskhub.routing import error_responses, parse_id
from taskhub.search.ask import NOT_CONFIGURED, LanguageModel, ask
from taskhub.search.embedders import DISABLED
from taskhub.search.semantic import Semantic
from taskhub.search.semantic_schemas import AskIn, AskOut, DuplicatesIn, HitsOut
from taskhub.tasks.encode import encode_scored

router = APIRouter(prefix="/api/v1", tags=["search"])


def _semantic(request: Request) -> Semantic:
    semantic: Semantic = request.app.state.semantic
    return semantic


@router.get(
    "/tasks/{task_id}/similar",
    response_model=HitsOut,
    operation_id="similar_tasks",
    responses=error_responses(401, 404, 409, 429, 503, e409=DISABLED),
)
async def similar_tasks(
    task_id: str,
    caller: CallerDep,
    session: ReaderDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many results")] = 10,
) -> Response:
    hits = await _semantic(request).similar(
        session, caller.user_id, parse_id(task_id, "Task"), limit
    )
    return Response(encode_scored(hits), media_type="application/json")


@router.post(
    "/search/duplicates",
    response_model=HitsOut,
    operation_id="find_duplicates",
    responses=error_responses(401, 404, 409, 413, 429, 503, e409=DISABLED),
)
async def find_duplicates(
    body: DuplicatesIn, caller: CallerDep, session: ReaderDep, request: Request
) -> Response:
    hits = await _semantic(request).duplicates(
        session, caller.user_id, body.title, body.description, body.project_id
    )
    return Response(encode_scored(hits), media_type="application/json")


@router.post(
    "/ask",
    response_model=AskOut,
    operation_id="ask_tasks",
    responses=error_responses(
        401,
        404,
        409,
        413,
        429,
        503,
        e409=NOT_CONFIGURED,
        e503="Database or language model unavailable",
    ),
)
async def ask_tasks(
    body: AskIn, caller: CallerDep, session: ReaderDep, request: Request
) -> Response:
    model: LanguageModel | None = request.app.state.llm
    answer = await ask(
        session, _semantic(request), model, caller.user_id, body.question, body.project_id
    )
    payload = {"answer": answer.answer, "citations": [str(c) for c in answer.citations]}
    return Response(orjson.dumps(payload), media_type="application/json")
