"""Deactivated accounts: refused at once by every instance, for free on the hot path.

`users.is_active` is the truth. Access tokens are verified without SQL, so each process
keeps the ids of deactivated users in memory (loaded from the database at start-up) and
`ensure_active` is a set lookup: no I/O on a request.

With Redis, a change is published to every instance, and the instance making it waits
until every subscriber has confirmed it applied the change (`ACK_TIMEOUT_SECONDS` at
most), so once an admin's "deactivate" has answered, no instance accepts the user's
tokens. An instance that is not subscribed (starting, Redis down, reconnecting) cannot
trust its set and asks the database on each request instead; when it subscribes again
it reloads the set, which covers any message it missed.

Without Redis a single process holds the whole truth; `serve --workers N` without Redis
has no channel between its processes, so there every request asks the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.auth.models import RefreshToken, User
from taskhub.db import Database, utcnow
from taskhub.errors import Unauthorized
from taskhub.kv.redis_client import GuardedRedis
from taskhub.ops.logging import get_logger

CHANNEL = "taskhub:deactivation"
ACK_PREFIX = "taskhub:deactivation:ack:"
ACK_TIMEOUT_SECONDS = 2.0
ACK_POLL_SECONDS = 0.005
RESUBSCRIBE_SECONDS = 0.5

log = get_logger("taskhub.auth")


async def set_active(session: AsyncSession, user_id: uuid.UUID, active: bool) -> bool:
    """Flip `users.is_active`; deactivating also revokes every refresh token. True if found.

    Pending in `session`: commit it, then `Deactivations.announce` the change.
    """
    found = await session.execute(
        update(User).where(User.id == user_id).values(is_active=active).returning(User.id)
    )
    if found.scalar_one_or_none() is None:
        return False
    if not active:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    return True


class Deactivations:
    """The deactivated user ids as this process knows them, kept current across instances."""

    def __init__(self) -> None:
        self._inactive: set[uuid.UUID] = set()
        self._trusted = False  # False: the set may be stale, ask the database
        self._changes = 0  # bumped by every applied change, to detect a racing reload
        self._database: Database | None = None
        self._redis: GuardedRedis | None = None
        self._load_lazily = False

    @property
    def trusted(self) -> bool:
        return self._trusted

    async def start(
        self, database: Database, redis: GuardedRedis | None, *, single_process: bool
    ) -> None:
        """Load the set and keep it current (call from the lifespan, after the database)."""
        self._database = database
        self._redis = redis
        if redis is not None:
            redis.spawn(self._follow(redis))  # trusted once subscribed and reloaded
        else:
            # Loaded by the first request, so a database that is down at start-up
            # fails requests (503) rather than the start.
            self._load_lazily = single_process

    async def is_active(self, user_id: uuid.UUID) -> bool:
        if self._trusted:
            return user_id not in self._inactive
        if self._load_lazily:
            await self._reload()
            self._trusted = True
            return user_id not in self._inactive
        return await self._active_in_database(user_id)

    async def announce(self, user_id: uuid.UUID, active: bool) -> None:
        """Apply a committed change here and, with Redis, on every subscribed instance."""
        self._apply(user_id, active)
        if self._redis is None:
            return
        nonce = secrets.token_hex(8)
        message = orjson.dumps({"user": str(user_id), "active": active, "ack": nonce})
        confirmed = await self._redis.call(
            lambda client: self._publish_and_wait(client, message, nonce), None, force=True
        )
        if confirmed is not True:
            # Redis failed (unsubscribed instances ask the database), or a subscriber did
            # not confirm in time (it applies the change when it reads the message).
            log.warning("deactivation_unconfirmed", user_id=str(user_id), active=active)

    # --- internals -----------------------------------------------------------------

    def _apply(self, user_id: uuid.UUID, active: bool) -> None:
        self._changes += 1
        if active:
            self._inactive.discard(user_id)
        else:
            self._inactive.add(user_id)

    async def _publish_and_wait(self, client: Redis, message: bytes, nonce: str) -> bool:
        receivers = int(await client.publish(CHANNEL, message))
        key = ACK_PREFIX + nonce
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACK_TIMEOUT_SECONDS
        try:
            while int(await client.llen(key)) < receivers:
                if loop.time() > deadline:
                    return False
                await asyncio.sleep(ACK_POLL_SECONDS)
        finally:
            await client.delete(key)
        return True

    async def _reload(self) -> None:
        assert self._database is not None
        while True:
            seen = self._changes
            async with self._database.reader() as session:
                rows = set(await session.scalars(select(User.id).where(User.is_active.is_(False))))
            # A change applied while the query ran may be missing from its answer.
            if seen == self._changes:
                self._inactive = rows
                return

    async def _active_in_database(self, user_id: uuid.UUID) -> bool:
        assert self._database is not None
        async with self._database.gate, self._database.reader() as session:
            active = await session.scalar(select(User.is_active).where(User.id == user_id))
        # An account that no longer exists is judged elsewhere, as with a trusted set.
        return active is not False

    async def _follow(self, redis: GuardedRedis) -> None:
        """Subscribe, reload, then apply (and confirm) every change; again after a failure."""
        while True:
            pubsub = redis.client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                await self._reload()
                self._trusted = True
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._receive(redis.client, message["data"])
            except Exception as exc:  # Redis or the database: retry, never die
                if self._trusted:
                    log.warning("deactivation_feed_lost", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._trusted = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def _receive(self, client: Redis, data: Any) -> None:
        try:
            body = orjson.loads(data)
            user_id = uuid.UUID(body["user"])
            active = bool(body["active"])
            nonce = str(body["ack"])
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
            return
        self._apply(user_id, active)
        key = ACK_PREFIX + nonce
        await client.rpush(key, 1)
        await client.expire(key, int(ACK_TIMEOUT_SECONDS) + 5)


async def ensure_active(deactivations: Deactivations, user_id: uuid.UUID) -> None:
    """401 for a deactivated user's otherwise valid token (called by `get_caller`)."""
    if not await deactivations.is_active(user_id):
        raise Unauthorized("Not authenticated")
