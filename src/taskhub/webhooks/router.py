"""/api/v1/webhooks: register, inspect and test signed webhooks (SPEC §9)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from taskhub.auth.deps import CallerDep
from taskhub.deps import ReaderDep, SessionDep, SettingsDep
from taskhub.errors import Conflict
from taskhub.routing import (
    BODY_ERRORS,
    NOT_FOUND,
    UNAUTHORIZED,
    PathId,
    error_responses,
    parse_id,
)
from taskhub.webhooks import service
from taskhub.webhooks.schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)
from taskhub.webhooks.ssrf import vet_url

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

WRITE = {**error_responses(401, 404, 429, 503), **BODY_ERRORS}


async def _vet(url: str, settings: SettingsDep) -> None:
    # UnsafeURL is an Invalid: a 422 naming the body's `url`.
    await vet_url(url, allow_private=settings.webhooks_allow_private)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    operation_id="create_webhook",
    responses={**WRITE, **error_responses(409, e409="Too many webhooks")},
)
async def create_webhook(
    body: WebhookCreate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> WebhookCreated:
    await _vet(body.url, settings)
    if await service.count_webhooks(session, caller.user_id) >= service.MAX_WEBHOOKS_PER_USER:
        raise Conflict(f"at most {service.MAX_WEBHOOKS_PER_USER} webhooks per user")
    webhook = await service.create_webhook(session, caller.user_id, body)
    created = WebhookCreated.model_validate(webhook)
    await session.commit()
    response.headers["Location"] = f"/api/v1/webhooks/{webhook.id}"
    return created


@router.get(
    "", response_model=list[WebhookOut], operation_id="list_webhooks", responses=UNAUTHORIZED
)
async def list_webhooks(caller: CallerDep, session: ReaderDep) -> list[WebhookOut]:
    webhooks = await service.list_webhooks(session, caller.user_id)
    return [WebhookOut.model_validate(w) for w in webhooks]


@router.get(
    "/{webhook_id}", response_model=WebhookOut, operation_id="get_webhook", responses=NOT_FOUND
)
async def get_webhook(webhook_id: PathId, caller: CallerDep, session: ReaderDep) -> WebhookOut:
    webhook = await service.get_webhook(session, caller.user_id, parse_id(webhook_id, "Webhook"))
    return WebhookOut.model_validate(webhook)


@router.patch(
    "/{webhook_id}", response_model=WebhookOut, operation_id="update_webhook", responses=WRITE
)
async def update_webhook(
    webhook_id: PathId,
    body: WebhookUpdate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookOut:
    if body.url is not None:
        await _vet(body.url, settings)
    webhook = await service.update_webhook(
        session, caller.user_id, parse_id(webhook_id, "Webhook"), body
    )
    updated = WebhookOut.model_validate(webhook)
    await session.commit()
    return updated


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_webhook",
    responses=NOT_FOUND,
)
async def delete_webhook(webhook_id: PathId, caller: CallerDep, session: SessionDep) -> Response:
    await service.delete_webhook(session, caller.user_id, parse_id(webhook_id, "Webhook"))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    operation_id="list_webhook_deliveries",
    responses=NOT_FOUND,
)
async def list_deliveries(
    webhook_id: PathId,
    caller: CallerDep,
    session: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[DeliveryOut]:
    """The newest deliveries first: attempts, next attempt, last status and response excerpt."""
    deliveries = await service.list_deliveries(
        session, caller.user_id, parse_id(webhook_id, "Webhook"), limit
    )
    return [DeliveryOut.model_validate(d) for d in deliveries]


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    operation_id="test_webhook",
    responses=NOT_FOUND,
)
async def test_webhook(webhook_id: PathId, caller: CallerDep, session: SessionDep) -> DeliveryOut:
    """Queue a signed `webhook.test` event to the webhook's URL; follow it in its deliveries."""
    delivery = await service.send_test(session, caller.user_id, parse_id(webhook_id, "Webhook"))
    out = DeliveryOut.model_validate(delivery)
    await session.commit()
    return out
