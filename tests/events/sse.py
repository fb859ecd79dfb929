"""Reading `GET /api/v1/events` as a client does: a background task parsing the stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.factories import User

READ_TIMEOUT = 15.0


def event_order(event_id: str) -> tuple[int, int]:
    """Ids are `<milliseconds>-<sequence>`: ordered as numbers, not as text."""
    millis, _, sequence = event_id.partition("-")
    return int(millis), int(sequence)


@dataclass
class Message:
    id: str
    event: str
    data: dict[str, Any]


@dataclass
class Stream:
    status: int = 0
    messages: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    comments: int = 0
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def next(self, timeout: float = READ_TIMEOUT) -> Message:
        return await asyncio.wait_for(self.messages.get(), timeout)


async def _read(http: httpx.AsyncClient, headers: dict[str, str], stream: Stream) -> None:
    async with http.stream("GET", "/api/v1/events", headers=headers) as response:
        stream.status = response.status_code
        stream.opened.set()
        if response.status_code != 200:
            return
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):
                stream.comments += 1
            elif line == "":
                if "data" in fields:
                    data = json.loads(fields["data"])
                    await stream.messages.put(Message(fields["id"], fields["event"], data))
                fields = {}
            else:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")


@contextlib.asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, user: User, last_event_id: str | None = None
) -> AsyncIterator[Stream]:
    """A stream of `user`'s events, open (status read) when this yields."""
    headers = dict(user.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    stream = Stream()
    reader = asyncio.create_task(_read(http, headers, stream))
    try:
        await asyncio.wait_for(stream.opened.wait(), READ_TIMEOUT)
        # The server subscribes before it answers: from here on, nothing is missed.
        yield stream
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await reader
