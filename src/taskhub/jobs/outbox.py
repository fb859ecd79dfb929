"""The enqueue point: jobs are recorded in the caller's transaction, never sent directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.jobs.models import OutboxMessage

ON_COMMIT_KEY = "taskhub.outbox.on_commit"  # session.info: callable that wakes the runner
_LISTENING_KEY = "taskhub.outbox.listening"


def enqueue(session: AsyncSession, job: str, payload: dict[str, Any]) -> OutboxMessage:
    """Record `job` to run after this transaction commits (and only if it does).

    Nothing reaches the broker here: the row commits or rolls back with the write that
    caused it, and a relay (or the embedded runner) picks it up afterwards. So a broker
    outage at commit time delays the job; it never loses it or fails the request.
    """
    message = OutboxMessage(job=job, payload=payload)
    session.add(message)
    wake: Callable[[], None] | None = session.info.get(ON_COMMIT_KEY)
    if wake is not None and not session.info.get(_LISTENING_KEY):
        session.info[_LISTENING_KEY] = True

        def _after_commit(_session: Any) -> None:
            session.info.pop(_LISTENING_KEY, None)
            wake()

        event.listen(session.sync_session, "after_commit", _after_commit, once=True)
    return message
