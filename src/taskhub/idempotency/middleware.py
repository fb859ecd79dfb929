"""`Idempotency-Key` on every authenticated POST under the API prefix (SPEC §10).

One pure-ASGI middleware, so every POST route has it, including routes added later:

1. no header, another method, or an anonymous route (register, login, refresh, logout):
   passed through untouched. Replaying a login would hand tokens to whoever repeats a
   key, and an anonymous caller has no namespace of its own for keys;
2. a key outside 1..255 characters: 422;
3. the body is spooled (memory up to 1 MiB, then a temporary file) and the request
   fingerprinted as it arrives: SHA-256 of method, path, query and body;
4. the key is claimed in its own committed transaction *before* the app runs
   (`store.claim`): a concurrent duplicate, on any instance, finds the row and gets 409;
   the same key with another request gets 422; a finished one is replayed with
   `Idempotent-Replayed: true`;
5. the app runs; its answer is stored just before the last body chunk goes out, so a
   client that received an answer finds it kept. 5xx and 429 answers are not kept (the
   key is released: nothing was done, or nothing can be said about it, and a retry
   should run); neither is a request that failed with an exception.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Awaitable, Callable, Collection
from typing import IO, Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskhub.db import Database, utcnow
from taskhub.idempotency import store
from taskhub.ops.logging import get_logger

log = get_logger(__name__)

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
MAX_KEY_CHARS = 255
# Answers larger than this are not kept; their key answers 409 from then on.
MAX_KEPT_BODY = 1024 * 1024
SPOOL_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024

Identify = Callable[[Request], Awaitable[str | None]]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _key_error(msg: str, kind: str) -> dict[str, Any]:
    return {"detail": [{"loc": ["header", "Idempotency-Key"], "msg": msg, "type": kind}]}


async def _answer(
    send: Send, status: int, body: dict[str, Any], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    payload = orjson.dumps(body)
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": payload})


def _digest_of(scope: Scope) -> Any:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"]):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no ambiguous joins
        digest.update(part)
    return digest  # the body, last, follows as it arrives


def fingerprint(scope: Scope, body: bytes) -> str:
    """SHA-256 of method, path, query and body: what makes two requests "the same"."""
    digest = _digest_of(scope)
    digest.update(body)
    return str(digest.hexdigest())


def _keep(status: int) -> bool:
    return status < 500 and status != 429


class IdempotencyMiddleware:
    def __init__(
        self, app: ASGIApp, *, prefix: str, anonymous: Collection[str], identify: Identify
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.anonymous = frozenset(anonymous)
        self.identify = identify

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        path: str = scope["path"]
        return path.startswith(self.prefix + "/") and path not in self.anonymous

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = _header(scope, HEADER) if self._applies(scope) else None
        caller = await self.identify(Request(scope)) if raw is not None else None
        if raw is None or caller is None:
            await self.app(scope, receive, send)
            return
        key = raw.decode("latin-1")
        if not 1 <= len(key) <= MAX_KEY_CHARS:
            await _answer(
                send, 422, _key_error(f"must be 1 to {MAX_KEY_CHARS} characters", "string_length")
            )
            return
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:
            digest = await _read_body(scope, receive, body)
            if digest is None:
                return  # the client went away before sending its body: nothing to do
            await self._once(scope, _replayed_body(body, receive), send, caller, key, digest)

    async def _once(
        self, scope: Scope, receive: Receive, send: Send, caller: str, key: str, digest: str
    ) -> None:
        database: Database = scope["app"].state.db
        try:
            outcome = await store.claim(database, caller, key, digest, utcnow())
        except SQLAlchemyError:
            await _answer(send, 503, {"detail": "Database unavailable"}, ((b"retry-after", b"5"),))
            return
        if isinstance(outcome, store.Mismatch):
            msg = "was already used for a different request in the last 24 hours"
            await _answer(send, 422, _key_error(msg, "idempotency_key_reused"))
        elif isinstance(outcome, store.InProgress):
            detail = "A request with this Idempotency-Key is still in progress; retry later"
            await _answer(send, 409, {"detail": detail}, ((b"retry-after", b"1"),))
        elif isinstance(outcome, store.Stored):
            await _replay(send, outcome)
        else:
            await self._run(scope, receive, send, database, outcome)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, database: Database, claim: store.Claimed
    ) -> None:
        status = 0
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        size = 0
        settled = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, size, settled
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_KEPT_BODY:
                    chunks.append(chunk)
                if not message.get("more_body", False) and not settled:
                    settled = True
                    kept = b"".join(chunks) if size <= MAX_KEPT_BODY else None
                    await _settle(database, claim, store.Stored(status, headers, kept))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not settled:
                await _forget(database, claim)


async def _settle(database: Database, claim: store.Claimed, answer: store.Stored) -> None:
    if not _keep(answer.status):
        await _forget(database, claim)
        return
    try:
        await store.complete(database, claim, answer)
    except SQLAlchemyError as exc:
        # The answer still goes out; the key stays claimed until its lease runs out.
        log.warning("idempotency_store_failed", error=type(exc).__name__)


async def _forget(database: Database, claim: store.Claimed) -> None:
    try:
        await store.release(database, claim)
    except SQLAlchemyError as exc:
        log.warning("idempotency_release_failed", error=type(exc).__name__)


async def _replay(send: Send, stored: store.Stored) -> None:
    if stored.body is None:
        detail = "The first answer to this Idempotency-Key was too large to keep; not run again"
        await _answer(send, 409, {"detail": detail})
        return
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    await send(
        {"type": "http.response.start", "status": stored.status, "headers": [*headers, REPLAYED]}
    )
    await send({"type": "http.response.body", "body": stored.body})


async def _read_body(scope: Scope, receive: Receive, into: IO[bytes]) -> str | None:
    """Spool the body into `into` and return the request's fingerprint; None if the
    client disconnected first. In memory up to SPOOL_BYTES, then in a temporary file: a
    route that takes more than the 1 MiB limit (an import) is not held in memory."""
    digest = _digest_of(scope)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        digest.update(chunk)
        into.write(chunk)
        if not message.get("more_body", False):
            return str(digest.hexdigest())


def _replayed_body(body: IO[bytes], receive: Receive) -> Receive:
    size = body.seek(0, 2)
    body.seek(0)
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()  # after the body: the server's own news (a disconnect)
        chunk = body.read(CHUNK_BYTES)
        done = body.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return replay
