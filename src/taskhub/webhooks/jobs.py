"""The `webhook.deliver` job: one attempt of one delivery, and what follows from it.

- **Due**: a job acts only on a pending delivery whose `next_attempt_at` has come;
  every reschedule enqueues exactly one new job for the new time, so a stale or
  redelivered job finds nothing to do.
- **Order per task**: a delivery waits while an earlier one (smaller id) of the same
  webhook and task is still pending, then tries just after it. A receiver therefore
  sees a task's events in the order they happened, at the cost of head-of-line
  blocking for that task (never for other tasks) while the earlier one is retried.
- **Visibility**: the webhook's owner must see the task when the delivery is due
  (`tasks.access.may_see` on the task's place now, or where it was if deleted);
  otherwise the delivery is `skipped`.
- **Retries**: a failure schedules the next attempt `retry.retry_delay` later (at
  least a day in all); a webhook failing without a success for `retry.DISABLE_AFTER`
  is disabled, which its owner reads in `GET /webhooks/{id}`.
- **At least once**: the request is made inside the job's transaction, so a worker
  killed mid-request leaves the outbox row to be retaken when its lease ends and the
  request is repeated once, with the same `webhook-id` for the receiver to drop.
  (On SQLite that transaction holds the single write lock for up to the client's
  deadline; PostgreSQL only locks the two rows.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import utcnow
from taskhub.jobs.outbox import enqueue
from taskhub.jobs.registry import Job
from taskhub.projects.access import roles_of
from taskhub.tasks.access import may_see
from taskhub.tasks.events import task_snapshot
from taskhub.webhooks.delivery import BoundedRunner, DeliveryResult, WebhookClient
from taskhub.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from taskhub.webhooks.retry import retry_delay, should_disable
from taskhub.webhooks.service import WEBHOOK_DELIVER, disable
from taskhub.webhooks.signing import encode_event, signature_headers

EXCERPT_CHARS = 1024
AFTER_PREDECESSOR = timedelta(milliseconds=200)


@dataclass
class DeliverWebhook:
    """The job body, configured once per process (Settings: `webhooks_*`)."""

    allow_private: bool
    retry_scale: float  # < 1 only in tests: compresses the whole retry schedule
    runner: BoundedRunner

    async def __call__(self, session: AsyncSession, job: Job) -> None:
        delivery = await session.get(
            WebhookDelivery, int(job.payload["delivery_id"]), with_for_update=True
        )
        now = utcnow()
        if delivery is None or delivery.status is not DeliveryStatus.pending:
            return
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return  # a stale job: the one for the new time is queued
        webhook = await session.get(Webhook, delivery.webhook_id)
        if webhook is None:
            return
        if not webhook.enabled and delivery.event_type != "webhook.test":
            delivery.status = DeliveryStatus.failed
            delivery.last_error = f"webhook disabled: {webhook.disabled_reason}"
            return
        earlier = await _pending_predecessor(session, delivery)
        if earlier is not None:
            self._schedule(session, delivery, max(earlier, now) + AFTER_PREDECESSOR)
            return
        if not await _owner_sees(session, webhook.owner_id, delivery):
            delivery.status = DeliveryStatus.skipped
            delivery.last_error = "the webhook's owner can no longer see this task"
            return
        result = await self.runner.run(lambda: self._send(webhook, delivery))
        self._record(session, webhook, delivery, result)

    async def _send(self, webhook: Webhook, delivery: WebhookDelivery) -> DeliveryResult:
        body = encode_event(delivery.event_type, delivery.data, delivery.occurred_at)
        headers = signature_headers(webhook.secret, delivery.message_id, body, utcnow())
        async with WebhookClient(allow_private=self.allow_private) as client:
            return await client.deliver(webhook.url, body, headers)

    def _record(
        self,
        session: AsyncSession,
        webhook: Webhook,
        delivery: WebhookDelivery,
        result: DeliveryResult,
    ) -> None:
        now = utcnow()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status = result.status
        delivery.last_error = result.error
        delivery.response_excerpt = result.excerpt[:EXCERPT_CHARS] or None
        if result.ok:
            delivery.status = DeliveryStatus.delivered
            delivery.next_attempt_at = None
            webhook.failing_since = None
            return
        webhook.failing_since = webhook.failing_since or now
        if should_disable(webhook.failing_since, now) and webhook.enabled:
            disable(webhook, f"every delivery failed since {webhook.failing_since.isoformat()}")
        delay = retry_delay(delivery.attempts)
        if delay is None:
            delivery.status = DeliveryStatus.failed
            delivery.next_attempt_at = None
            return
        self._schedule(session, delivery, now + delay * self.retry_scale)

    @staticmethod
    def _schedule(session: AsyncSession, delivery: WebhookDelivery, at: datetime) -> None:
        delivery.next_attempt_at = at
        enqueue(session, WEBHOOK_DELIVER, {"delivery_id": delivery.id}, available_at=at)


async def _pending_predecessor(session: AsyncSession, delivery: WebhookDelivery) -> datetime | None:
    """When the earliest still-pending earlier delivery for the same task is next tried."""
    if delivery.task_id is None:
        return None
    query = (
        select(WebhookDelivery.next_attempt_at)
        .where(
            WebhookDelivery.webhook_id == delivery.webhook_id,
            WebhookDelivery.task_id == delivery.task_id,
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.id < delivery.id,
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
    )
    found = (await session.execute(query)).first()
    if found is None:
        return None
    at: datetime | None = found[0]
    return at or utcnow()


async def _owner_sees(
    session: AsyncSession, owner_id: uuid.UUID, delivery: WebhookDelivery
) -> bool:
    if delivery.task_id is None:
        return True  # a test event concerns no task
    row = await task_snapshot(session, delivery.task_id)
    place_owner = row["owner_id"] if row is not None else delivery.task_owner_id
    place_project = row["project_id"] if row is not None else delivery.task_project_id
    if place_owner is None:
        return False
    projects = await roles_of(session, owner_id) if place_project is not None else {}
    return may_see(owner_id, place_owner, place_project, projects)
