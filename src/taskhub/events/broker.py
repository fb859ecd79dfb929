"""Fan-out of live events to the open SSE streams of every instance, with a short replay.

An event gets an id `<milliseconds>-<sequence>` (the Redis stream id format; ordered as
a pair of integers) and is kept for `RESUME_WINDOW` so a client reconnecting with
`Last-Event-ID` gets what it missed.

- `RedisBroker` (Redis configured): one Lua call appends the event to a stream trimmed
  by MINID (entries older than the window go), and PUBLISHes it with its id, so ids
  reach subscribers in stream order. Each instance holds one pub/sub subscription and
  hands events to its local streams.
- `LocalBroker` (no Redis): a bounded in-process ring buffer; one instance only.

A stream's queue is bounded: a client too slow to keep up is cut off (it reconnects
with its `Last-Event-ID` and replays), never allowed to grow memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

import orjson
from redis.asyncio import Redis

from taskhub.ops.logging import get_logger

log = get_logger(__name__)

RESUME_WINDOW_SECONDS = 300.0
MAX_RETAINED = 100_000
QUEUE_SIZE = 1_000
STREAM_KEY = "taskhub:events"
CHANNEL = "taskhub:events:live"

# XADD trimmed to the window (MINID), then PUBLISH "<id> <event json>".
_APPEND_AND_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
return id
"""


@dataclass(frozen=True, slots=True)
class LiveEvent:
    id: str
    type: str
    owner_id: str | None  # the task's place: who may see it (tasks.access.may_see)
    project_id: str | None
    body: str  # the JSON `{type, timestamp, data}` webhooks send too

    def encode(self) -> bytes:
        return orjson.dumps(
            {"t": self.type, "o": self.owner_id, "p": self.project_id, "b": self.body}
        )

    @classmethod
    def decode(cls, event_id: str, raw: bytes | str) -> LiveEvent:
        fields: dict[str, Any] = orjson.loads(raw)
        return cls(event_id, fields["t"], fields["o"], fields["p"], fields["b"])


def id_key(event_id: str) -> tuple[int, int]:
    """Sortable form of an event id; ValueError if it is not one."""
    millis, _, sequence = event_id.partition("-")
    return int(millis), int(sequence or 0)


class Subscription:
    """One open stream's queue. `overflowed`: it fell behind and must reconnect."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, event: LiveEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True


class Broker(Protocol):
    async def publish(self, event: LiveEvent) -> str: ...
    async def replay(self, after: str) -> list[LiveEvent]: ...
    def subscribe(self) -> contextlib.AbstractAsyncContextManager[Subscription]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class _Subscribers:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    def deliver(self, event: LiveEvent) -> None:
        for subscription in self._subscriptions:
            subscription.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)


class LocalBroker(_Subscribers):
    """Without Redis: this process's streams, and a ring buffer for replay."""

    def __init__(self) -> None:
        super().__init__()
        self._ring: deque[tuple[float, LiveEvent]] = deque(maxlen=MAX_RETAINED)
        self._last = (0, 0)

    async def publish(self, event: LiveEvent) -> str:
        millis = int(time.time() * 1000)
        sequence = self._last[1] + 1 if millis <= self._last[0] else 0
        self._last = (max(millis, self._last[0]), sequence)
        stamped = LiveEvent(f"{self._last[0]}-{sequence}", *_fields(event))
        self._ring.append((time.monotonic(), stamped))
        self.deliver(stamped)
        return stamped.id

    async def replay(self, after: str) -> list[LiveEvent]:
        horizon = time.monotonic() - RESUME_WINDOW_SECONDS
        start = id_key(after)
        return [e for at, e in self._ring if at >= horizon and id_key(e.id) > start]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisBroker(_Subscribers):
    """Across instances: a capped Redis stream for replay, pub/sub for fan-out."""

    def __init__(self, redis: Redis) -> None:
        super().__init__()
        self._redis = redis
        self._script = redis.register_script(_APPEND_AND_PUBLISH)
        self._listener: asyncio.Task[None] | None = None

    async def publish(self, event: LiveEvent) -> str:
        horizon = int((time.time() - RESUME_WINDOW_SECONDS) * 1000)
        raw = await self._script(keys=[STREAM_KEY, CHANNEL], args=[event.encode(), horizon])
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def replay(self, after: str) -> list[LiveEvent]:
        horizon = int((time.time() - RESUME_WINDOW_SECONDS) * 1000)
        start = max(id_key(after), (horizon, 0))
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self._redis.xrange(
                STREAM_KEY, min=f"({start[0]}-{start[1]}", max="+", count=MAX_RETAINED
            ),
        )
        return [LiveEvent.decode(_text(i), fields[b"e"]) for i, fields in entries]

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="taskhub-events-listener")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        event_id, _, raw = _text(message["data"]).partition(" ")
                        self.deliver(LiveEvent.decode(event_id, raw))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: streams keep their heartbeat, we retry
                log.warning("events_listener_error", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _fields(event: LiveEvent) -> tuple[str, str | None, str | None, str]:
    return event.type, event.owner_id, event.project_id, event.body


def open_broker(redis_url: str | None) -> LocalBroker | RedisBroker:
    """The broker for this process: Redis-backed when configured, else in-process.

    Its own client: the pub/sub connection blocks indefinitely, which the shared
    client's short socket timeout (kv.redis_client) would cut.
    """
    if not redis_url:
        return LocalBroker()
    return RedisBroker(Redis.from_url(redis_url, socket_connect_timeout=1.0))
