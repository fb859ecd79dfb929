"""Every operation's personal-token scope, walked through the published OpenAPI document.

Each operation is called with a token of each single scope (and with a session): a scope
the table below grants must get past the check (any answer but 401/403: unknown ids give
404, an empty body 422), any other must get 403. A route added without a scope decision
fails here, by design: see README "Personal access tokens and scopes".
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import MutableMapping
from typing import Any

import httpx
from fastapi import FastAPI

from taskhub.auth.pat_format import SCOPES
from taskhub.auth.scopes import ANY_SCOPE, OPERATION_SCOPES, SESSION_ONLY
from tests.owasp.support import operations
from tests.support.factories import MakeUser
from tests.support.pats import bearer, mint_token

PUBLIC = "public"  # no credentials needed: not part of the scope rule
SESSION = "session"  # no token whatever its scopes; a signed-in session only
ANY = "any"  # every token

# operation_id -> what a token needs. The specification side of the scope rule: it must
# agree with taskhub.auth.scopes.OPERATION_SCOPES, which the server enforces.
EXPECTED: dict[str, str] = {
    "create_comment": "tasks:write",
    "create_project": "projects:write",
    "create_task": "tasks:write",
    "create_import": SESSION,
    "export_data": SESSION,
    "get_import": SESSION,
    "create_token": SESSION,
    "delete_comment": "tasks:write",
    "delete_project": "projects:write",
    "delete_task": "tasks:write",
    "delete_token": SESSION,
    "get_comment": "tasks:read",
    "create_webhook": "webhooks",
    "delete_webhook": "webhooks",
    "get_me": ANY,
    "get_project": "projects:read",
    "get_task": "tasks:read",
    "get_webhook": "webhooks",
    "healthz": PUBLIC,
    "list_project_members": "projects:read",
    "list_projects": "projects:read",
    "list_task_activity": "tasks:read",
    "list_task_comments": "tasks:read",
    "list_tasks": "tasks:read",
    "list_tokens": SESSION,
    "list_webhook_deliveries": "webhooks",
    "list_webhooks": "webhooks",
    "login": PUBLIC,
    "logout": PUBLIC,
    "metrics": PUBLIC,
    "put_project_member": "projects:write",
    "readyz": PUBLIC,
    "refresh_token": PUBLIC,
    "register": PUBLIC,
    "remove_project_member": "projects:write",
    "search_tasks": "tasks:read",
    "update_comment": "tasks:write",
    "similar_tasks": "tasks:read",
    "find_duplicates": "tasks:read",
    "ask_tasks": "tasks:read",
    "stream_events": "tasks:read",
    "test_webhook": "webhooks",
    "update_project": "projects:write",
    "update_task": "tasks:write",
    "update_webhook": "webhooks",
}
HOW_TO_ADD = (
    "Decide which personal-token scope each operation needs and add it, by operation_id, "
    "to BOTH src/taskhub/auth/scopes.py OPERATION_SCOPES (what the server enforces: a "
    "scope, ANY_SCOPE or SESSION_ONLY) and tests/test_scopes.py EXPECTED (the spec: a "
    "scope, ANY, SESSION or PUBLIC for routes without credentials). See README "
    '"Personal access tokens and scopes".'
)


def _allows(expected: str, scope: str) -> bool:
    return expected in (ANY, scope)


def _call_args(path: str, operation: dict[str, Any]) -> tuple[str, bytes | None]:
    """A concrete URL (unknown ids) and a body that cannot change anything if let through."""
    url = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
    content = operation.get("requestBody", {}).get("content", {})
    return url, (b"{}" if "application/json" in content else None)


async def _status(
    app: FastAPI, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> int:
    """The status the app starts its answer with.

    Through ASGI rather than httpx: httpx's ASGI transport waits for the whole body, and
    a stream (server-sent events) the token may open never ends; the status is all the
    scope check decides.
    """
    head = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body is not None:
        head += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": head,
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    pending = [{"type": "http.request", "body": body or b"", "more_body": False}]
    never = asyncio.Event()

    async def receive() -> MutableMapping[str, Any]:
        if pending:
            return pending.pop()
        await never.wait()  # the client stays connected until the status is known
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start" and not started.done():
            started.set_result(message["status"])

    call = asyncio.ensure_future(app(scope, receive, send))
    try:
        either: set[asyncio.Future[Any]] = {call, started}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            call.result()  # raised before answering: show why
        return started.result()
    finally:
        if not call.done():
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call


def test_every_operation_has_a_scope_decision(app: FastAPI) -> None:
    served = set(operations(app))

    undecided = sorted(served - set(EXPECTED))
    stale = sorted(set(EXPECTED) - served)
    not_enforced = sorted(
        name
        for name in served
        if EXPECTED.get(name, PUBLIC) != PUBLIC and name not in OPERATION_SCOPES
    )
    unknown = sorted(set(OPERATION_SCOPES) - served)

    assert not undecided, f"operations without a scope decision: {undecided}. {HOW_TO_ADD}"
    assert not stale, f"EXPECTED names operations the app does not serve: {stale}"
    assert not not_enforced, f"missing from OPERATION_SCOPES: {not_enforced}. {HOW_TO_ADD}"
    assert not unknown, f"OPERATION_SCOPES names operations the app does not serve: {unknown}"


def test_the_enforced_table_matches_the_expected_one() -> None:
    spelled = {SESSION_ONLY: SESSION, ANY_SCOPE: ANY}
    enforced = {name: spelled.get(scope, scope) for name, scope in OPERATION_SCOPES.items()}
    assert set(OPERATION_SCOPES.values()) <= {*SCOPES, ANY_SCOPE, SESSION_ONLY}

    differ = {
        name: (scope, EXPECTED.get(name))
        for name, scope in enforced.items()
        if EXPECTED.get(name) != scope
    }

    assert not differ, f"OPERATION_SCOPES vs EXPECTED (enforced, expected): {differ}"


async def test_each_single_scope_token_is_let_through_exactly_where_the_table_says(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    tokens = {
        scope: (await mint_token(client, alice.headers, [scope]))["token"] for scope in SCOPES
    }
    wrong: list[str] = []
    checked = 0

    for name, (method, path, operation) in sorted(operations(app).items()):
        expected = EXPECTED.get(name)
        if expected in (None, PUBLIC):
            continue  # None: reported by test_every_operation_has_a_scope_decision
        url, body = _call_args(path, operation)
        session = await _status(app, method, url, alice.headers, body)
        if session in (401, 403):
            wrong.append(f"{name} as a session: {session}, expected through")
        for scope, token in tokens.items():
            checked += 1
            status = await _status(app, method, url, bearer(token), body)
            allowed = _allows(expected, scope)
            if allowed and status in (401, 403):
                wrong.append(f"{name} with {scope}: {status}, expected through")
            if not allowed and status != 403:
                wrong.append(f"{name} with {scope}: {status}, expected 403")

    assert not wrong, "\n".join(wrong)
    assert checked == len([v for v in EXPECTED.values() if v != PUBLIC]) * len(SCOPES)
