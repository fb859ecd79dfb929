"""/api/v1/export, /api/v1/import, /api/v1/imports/{id}."""

from __future__ import annotations

import codecs
import json
import tempfile
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from taskhub.auth.deps import CallerDep
from taskhub.deps import ReaderDep, SessionDep, get_database
from taskhub.errors import Invalid
from taskhub.routing import BODY_ERRORS, NOT_FOUND, UNAUTHORIZED, PathId, parse_id
from taskhub.transfer import service
from taskhub.transfer.export import export_csv, export_json
from taskhub.transfer.schemas import ImportAccepted, ImportOut

router = APIRouter(prefix="/api/v1", tags=["transfer"])
IMPORT_PATH = "/api/v1/import"  # BodyLimitMiddleware gives it TASKHUB_MAX_IMPORT_BYTES

SPOOL_IN_MEMORY = 1024 * 1024  # larger uploads spill to a temporary file

# The document GET /export writes (items are checked row by row when imported).
EXPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "version"],
    "properties": {
        "format": {"const": "taskhub-export"},
        "version": {"const": 1},
        # Items are checked one by one on import: a bad one is a row error, not a 422.
        "projects": {"type": "array", "items": {}},
        "tasks": {"type": "array", "items": {}},
    },
}
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A taskhub export document (application/json), taskhub's plain CSV or a "
            "Todoist CSV export. application/json is read as a document; text/csv "
            "and application/octet-stream as CSV; without a type (or with another) "
            "a body starting with `{` is a document, else CSV. A CSV whose header "
            "starts `TYPE,CONTENT` is Todoist's. Problems in rows are reported by "
            "GET /api/v1/imports/{id}, not here."
        ),
        "content": {
            "application/json": {"schema": EXPORT_SCHEMA},
            # CSV (text/csv or any other type): the bytes as they are.
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get(
    "/export",
    operation_id="export_data",
    response_class=StreamingResponse,
    responses={
        **UNAUTHORIZED,
        200: {
            "description": "The caller's own projects and tasks",
            "content": {"application/json": {}, "text/csv": {}},
        },
    },
)
async def export_data(
    caller: CallerDep,
    request: Request,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> StreamingResponse:
    database = get_database(request)
    if format == "csv":
        body, media, name = export_csv(database, caller.user_id), "text/csv", "taskhub.csv"
    else:
        body, media, name = (
            export_json(database, caller.user_id),
            "application/json",
            "taskhub.json",
        )
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body, media_type=media, headers=headers)


@router.post(
    "/import",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportAccepted,
    operation_id="create_import",
    openapi_extra=_IMPORT_BODY,
    responses={
        **UNAUTHORIZED,
        **BODY_ERRORS,
        202: {
            "links": {
                "get_import": {
                    "operationId": "get_import",
                    "parameters": {"import_id": "$response.body#/id"},
                }
            }
        },
        422: {"description": "No body, or a JSON document that is not a taskhub export"},
    },
)
async def create_import(caller: CallerDep, session: SessionDep, request: Request) -> ImportAccepted:
    # The body is read here, after authentication, and never held in memory whole;
    # BodyLimitMiddleware stops it at TASKHUB_MAX_IMPORT_BYTES.
    content_type = request.headers.get("content-type")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as upload:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            upload.write(chunk)
        if size == 0 and content_type is None:
            raise Invalid("A request body is required: a JSON export or a CSV file")
        if _declares_json(content_type) and not _utf8_without_bom(upload):
            raise RequestValidationError([NOT_UTF8_JSON])
        report = await service.create_import(
            session,
            caller.user_id,
            upload,
            content_type=content_type,
            size=size,
        )
    await session.commit()
    return ImportAccepted(id=report.id)


@router.get(
    "/imports/{import_id}",
    response_model=ImportOut,
    operation_id="get_import",
    responses=NOT_FOUND,
)
async def get_import(import_id: PathId, caller: CallerDep, session: ReaderDep) -> ImportOut:
    report = await service.get_import(session, caller.user_id, parse_id(import_id, "Import"))
    return ImportOut.model_validate(report, from_attributes=True)


NOT_UTF8_JSON = {
    "loc": ("body",),
    "msg": "A JSON body must be UTF-8, without a byte order mark",
    "type": "json_invalid",
}


def _declares_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _utf8_without_bom(upload: tempfile.SpooledTemporaryFile[bytes]) -> bool:
    """The same rule BodyLimitMiddleware applies to every other JSON body (SPEC §2),
    checked chunk by chunk: an import is never held in memory whole."""
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head and json.detect_encoding(head) != "utf-8":
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := upload.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        upload.seek(0)
    return True
