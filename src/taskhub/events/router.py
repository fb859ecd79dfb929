"""GET /api/v1/events: the caller's live events as Server-Sent Events (SPEC §9)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from taskhub.auth.deps import CallerDep
from taskhub.deps import SettingsDep
from taskhub.events.broker import Broker, LiveEvent, Subscription, id_key
from taskhub.events.streams import StreamLimit, Viewer
from taskhub.routing import error_responses

router = APIRouter(prefix="/api/v1", tags=["events"])

STREAM = {
    200: {
        "description": "An endless `text/event-stream`: `id:`, `event:` (the type) and "
        "`data:` (`{type, timestamp, data}`) per event, comment lines as heartbeats",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def _message(event: LiveEvent) -> ServerSentEvent:
    return ServerSentEvent(data=event.body, event=event.type, id=event.id)


async def _events(
    request: Request,
    broker: Broker,
    subscription: Subscription,
    viewer: Viewer,
    last_event_id: str | None,
) -> AsyncIterator[ServerSentEvent]:
    # The subscription was taken before the replay, so nothing published in between is
    # missed; the replayed ids then tell which queued events were already sent.
    last = id_key(last_event_id) if last_event_id else (0, 0)
    if last_event_id:
        for event in await broker.replay(last_event_id):
            if await viewer.sees(event):
                yield _message(event)
            last = max(last, id_key(event.id))
    while not subscription.overflowed:
        event = await subscription.queue.get()
        if id_key(event.id) <= last:
            continue
        last = id_key(event.id)
        if await viewer.sees(event):
            yield _message(event)
        if await request.is_disconnected():
            return


def _valid_id(raw: str | None) -> str | None:
    try:
        return raw if raw and id_key(raw) else None
    except ValueError:
        return None  # not one of ours: start from now


@router.get(
    "/events",
    operation_id="stream_events",
    response_class=EventSourceResponse,
    responses={**STREAM, **error_responses(401, 429, 503)},  # type: ignore[dict-item]
)
async def stream_events(
    request: Request,
    caller: CallerDep,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> Any:
    """Events about tasks the caller can see; `Last-Event-ID` resumes within 5 minutes."""
    limit: StreamLimit = request.app.state.event_streams
    broker: Broker = request.app.state.events
    viewer = Viewer(request.app.state.memberships, caller.user_id)
    resources = contextlib.AsyncExitStack()
    # Both before the answer starts: over the limit is a 429, and the subscription exists
    # by the time the client sees 200, so an event published right after reaches it.
    resources.enter_context(limit.hold(caller.user_id))
    subscription = await resources.enter_async_context(broker.subscribe())

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async with resources:
            events = _events(request, broker, subscription, viewer, _valid_id(last_event_id))
            async for message in events:
                yield message

    return EventSourceResponse(stream(), ping=int(max(1, settings.events_heartbeat_seconds)))
