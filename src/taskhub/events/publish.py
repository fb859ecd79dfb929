"""The live-event consumer of `task.activity` messages: hand each event to the broker."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.events.broker import Broker, LiveEvent
from taskhub.events.envelope import Event
from taskhub.webhooks.signing import encode_event


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Publisher:
    broker: Broker

    async def __call__(self, _session: AsyncSession, event: Event) -> None:
        # Published from inside the job's transaction: a job that then fails is run again
        # and publishes again (under a new id). Live events are at least once, like hooks.
        body = encode_event(event.type, event.data, event.occurred_at).decode()
        await self.broker.publish(
            LiveEvent("", event.type, _text(event.owner_id), _text(event.project_id), body)
        )
