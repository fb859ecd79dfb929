"""Webhooks: registration by their owner, and the per-delivery rows events fan out to.

Visibility: a webhook is its owner's alone (another user's id is a 404). A webhook
scoped to a project needs its creator to see that project; events reach a webhook
only for tasks its owner can see when the delivery is due (`webhooks.jobs`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import utcnow
from taskhub.errors import NotFound
from taskhub.events.envelope import Event
from taskhub.jobs.outbox import enqueue
from taskhub.tasks import access as tasks_access
from taskhub.webhooks.models import Webhook, WebhookDelivery
from taskhub.webhooks.schemas import WebhookCreate, WebhookUpdate
from taskhub.webhooks.signing import generate_secret, new_message_id

WEBHOOK_DELIVER = "webhook.deliver"  # job name: one attempt of one delivery
TEST_EVENT = "webhook.test"
MAX_WEBHOOKS_PER_USER = 50


async def create_webhook(
    session: AsyncSession, owner_id: uuid.UUID, body: WebhookCreate
) -> Webhook:
    """A new webhook; the caller vetted the URL. Project scope must be visible (else 404)."""
    if body.project_id is not None and not await tasks_access.sees_project(
        session, owner_id, body.project_id
    ):
        raise NotFound("Project")
    webhook = Webhook(
        owner_id=owner_id,
        project_id=body.project_id,
        url=body.url,
        events=list(body.events),
        secret=generate_secret(),
    )
    session.add(webhook)
    await session.flush()
    return webhook


async def count_webhooks(session: AsyncSession, owner_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).where(Webhook.owner_id == owner_id)) or 0)


async def list_webhooks(session: AsyncSession, owner_id: uuid.UUID) -> Sequence[Webhook]:
    query = select(Webhook).where(Webhook.owner_id == owner_id).order_by(Webhook.created_at)
    return (await session.scalars(query)).all()


async def get_webhook(
    session: AsyncSession, owner_id: uuid.UUID, webhook_id: uuid.UUID, *, lock: bool = False
) -> Webhook:
    query = select(Webhook).where(Webhook.id == webhook_id, Webhook.owner_id == owner_id)
    if lock:
        query = query.with_for_update()
    webhook = await session.scalar(query)
    if webhook is None:
        raise NotFound("Webhook")
    return webhook


async def update_webhook(
    session: AsyncSession, owner_id: uuid.UUID, webhook_id: uuid.UUID, body: WebhookUpdate
) -> Webhook:
    webhook = await get_webhook(session, owner_id, webhook_id, lock=True)
    if body.url is not None:
        webhook.url = body.url
    if body.events is not None:
        webhook.events = list(body.events)
    if body.enabled is True and not webhook.enabled:
        webhook.enabled = True
        webhook.disabled_at = webhook.disabled_reason = webhook.failing_since = None
    elif body.enabled is False and webhook.enabled:
        disable(webhook, "disabled by its owner")
    webhook.updated_at = utcnow()
    await session.flush()
    return webhook


async def delete_webhook(session: AsyncSession, owner_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    await session.delete(await get_webhook(session, owner_id, webhook_id))


async def list_deliveries(
    session: AsyncSession, owner_id: uuid.UUID, webhook_id: uuid.UUID, limit: int
) -> Sequence[WebhookDelivery]:
    """The newest `limit` deliveries of the caller's webhook, newest first."""
    await get_webhook(session, owner_id, webhook_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


def disable(webhook: Webhook, reason: str) -> None:
    webhook.enabled = False
    webhook.disabled_at = utcnow()
    webhook.disabled_reason = reason


# --- fan-out -----------------------------------------------------------------------------


def _queue(session: AsyncSession, webhook: Webhook, event: Event, now: datetime) -> WebhookDelivery:
    delivery = WebhookDelivery(
        webhook_id=webhook.id,
        message_id=new_message_id(),
        event_type=event.type,
        task_id=event.task_id,
        task_owner_id=event.owner_id,
        task_project_id=event.project_id,
        occurred_at=event.occurred_at,
        data=event.data,
        next_attempt_at=now,
    )
    session.add(delivery)
    return delivery


async def fan_out(session: AsyncSession, event: Event) -> None:
    """One pending delivery (and its job) per enabled webhook subscribed to `event`.

    Subscribed: the event type is in its list and, if scoped, the task is in its project.
    Whether the owner may see the task is decided when each delivery is due.
    """
    if event.owner_id is None:
        return
    # Only webhooks of users who see the task now: the rest would only ever be skipped.
    audience = await tasks_access.audience(session, [(event.owner_id, event.project_id)])
    query = select(Webhook).where(Webhook.enabled.is_(True), Webhook.owner_id.in_(audience))
    if event.project_id is not None:
        query = query.where(
            or_(Webhook.project_id.is_(None), Webhook.project_id == event.project_id)
        )
    else:
        query = query.where(Webhook.project_id.is_(None))
    now = utcnow()
    deliveries = [
        _queue(session, webhook, event, now)
        for webhook in (await session.scalars(query)).all()
        if event.type in webhook.events
    ]
    if not deliveries:
        return
    await session.flush()  # assigns the ids, whose order is the delivery order per task
    for delivery in deliveries:
        enqueue(session, WEBHOOK_DELIVER, {"delivery_id": delivery.id})


async def send_test(
    session: AsyncSession, owner_id: uuid.UUID, webhook_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a `webhook.test` delivery (even to a disabled webhook: that is how to probe it)."""
    webhook = await get_webhook(session, owner_id, webhook_id)
    now = utcnow()
    event = Event(type=TEST_EVENT, occurred_at=now, data={"webhook_id": str(webhook.id)})
    delivery = _queue(session, webhook, event, now)
    await session.flush()
    enqueue(session, WEBHOOK_DELIVER, {"delivery_id": delivery.id})
    return delivery
