"""Subscription routes: own subscriptions for users, the approval queue and decisions for admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.db import Session
from litemaas.kit.bounds import ShortText, utc_filter
from litemaas.kit.pagination import Page, Pagination
from litemaas.litellm_admin.dependencies import LiteLLMAdmin
from litemaas.subscriptions import service
from litemaas.subscriptions.schemas import (
    BulkDecisionIn,
    BulkOut,
    CountersOut,
    GrantIn,
    HistoryOut,
    QueueFilter,
    ReasonIn,
    SubscribeIn,
    SubscriptionOut,
)

router = APIRouter(tags=["subscriptions"])

Subscriber = Annotated[Principal, require(Permission.SUBSCRIPTIONS_OWN)]
Decider = Annotated[Principal, require(Permission.SUBSCRIPTIONS_DECIDE)]
Status = Literal["pending", "active", "denied", "cancelled"]


@router.get("/subscriptions", response_model=list[SubscriptionOut])
async def list_own(session: Session, principal: Subscriber) -> list[SubscriptionOut]:
    return await service.list_own(session, principal.user_id)


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=201)
async def subscribe(
    session: Session, litellm: LiteLLMAdmin, body: SubscribeIn, principal: Subscriber
) -> SubscriptionOut:
    return await service.subscribe(
        session, litellm, actor=principal, user_id=principal.user_id, model_ref=body.model, reason=body.reason
    )


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def get_own(session: Session, subscription_id: uuid.UUID, principal: Subscriber) -> SubscriptionOut:
    return await service.get_one(session, subscription_id, owner_id=principal.user_id)


@router.get("/subscriptions/{subscription_id}/history", response_model=list[HistoryOut])
async def own_history(session: Session, subscription_id: uuid.UUID, principal: Subscriber) -> list[HistoryOut]:
    return await service.history(session, subscription_id, owner_id=principal.user_id)


@router.post("/subscriptions/{subscription_id}/cancel", response_model=SubscriptionOut)
async def cancel(
    session: Session, litellm: LiteLLMAdmin, subscription_id: uuid.UUID, principal: Subscriber
) -> SubscriptionOut:
    return await service.cancel(
        session, litellm, actor=principal, subscription_id=subscription_id, owner_id=principal.user_id
    )


@router.post("/subscriptions/{subscription_id}/request-review", response_model=SubscriptionOut)
async def request_review(
    session: Session,
    litellm: LiteLLMAdmin,
    subscription_id: uuid.UUID,
    principal: Subscriber,
    body: ReasonIn | None = None,
) -> SubscriptionOut:
    return await service.request_review(
        session,
        litellm,
        actor=principal,
        subscription_id=subscription_id,
        owner_id=principal.user_id,
        reason=body.reason if body else None,
    )


# --------------------------------------------------------------------------- admin


@router.get("/admin/subscriptions", response_model=Page[SubscriptionOut], dependencies=[require(Permission.ADMIN_READ)])
async def admin_queue(
    session: Session,
    page: Pagination,
    status: Annotated[list[Status] | None, Query(max_length=4)] = None,
    model: Annotated[list[ShortText] | None, Query(max_length=100)] = None,
    user: Annotated[list[ShortText] | None, Query(max_length=100)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[SubscriptionOut]:
    """The queue: ``status``, ``model`` and ``user`` may repeat (any of the values)."""
    query = QueueFilter(
        statuses=tuple(status or ()),
        models=tuple(model or ()),
        users=tuple(user or ()),
        since=utc_filter(since, "since"),
        until=utc_filter(until, "until"),
    )
    items, total = await service.queue(session, query, limit=page.limit, offset=page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/admin/subscriptions/counters", response_model=CountersOut, dependencies=[require(Permission.ADMIN_READ)])
async def admin_counters(session: Session) -> CountersOut:
    """Pending now, approved and denied today (UTC)."""
    return await service.counters(session)


@router.get(
    "/admin/subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    dependencies=[require(Permission.ADMIN_READ)],
)
async def admin_get(session: Session, subscription_id: uuid.UUID) -> SubscriptionOut:
    return await service.get_one(session, subscription_id, owner_id=None)


@router.get(
    "/admin/subscriptions/{subscription_id}/history",
    response_model=list[HistoryOut],
    dependencies=[require(Permission.ADMIN_READ)],
)
async def admin_history(session: Session, subscription_id: uuid.UUID) -> list[HistoryOut]:
    return await service.history(session, subscription_id, owner_id=None)


@router.post("/admin/subscriptions/bulk", response_model=BulkOut)
async def bulk_decide(session: Session, litellm: LiteLLMAdmin, body: BulkDecisionIn, principal: Decider) -> BulkOut:
    return await service.decide_bulk(
        session, litellm, actor=principal, ids=body.ids, action=body.action, reason=body.reason
    )


async def _decide(
    session: Session,
    litellm: LiteLLMAdmin,
    principal: Principal,
    subscription_id: uuid.UUID,
    action: str,
    body: ReasonIn | None,
) -> SubscriptionOut:
    return await service.decide(
        session,
        litellm,
        actor=principal,
        subscription_id=subscription_id,
        action=action,
        reason=body.reason if body else None,
    )


@router.post("/admin/subscriptions/{subscription_id}/approve", response_model=SubscriptionOut)
async def approve(
    session: Session,
    litellm: LiteLLMAdmin,
    subscription_id: uuid.UUID,
    principal: Decider,
    body: ReasonIn | None = None,
) -> SubscriptionOut:
    return await _decide(session, litellm, principal, subscription_id, "approve", body)


@router.post("/admin/subscriptions/{subscription_id}/deny", response_model=SubscriptionOut)
async def deny(
    session: Session,
    litellm: LiteLLMAdmin,
    subscription_id: uuid.UUID,
    principal: Decider,
    body: ReasonIn | None = None,
) -> SubscriptionOut:
    return await _decide(session, litellm, principal, subscription_id, "deny", body)


@router.post("/admin/subscriptions/{subscription_id}/revert", response_model=SubscriptionOut)
async def revert(
    session: Session,
    litellm: LiteLLMAdmin,
    subscription_id: uuid.UUID,
    principal: Decider,
    body: ReasonIn | None = None,
) -> SubscriptionOut:
    return await _decide(session, litellm, principal, subscription_id, "revert", body)


@router.post("/admin/users/{user_id}/subscriptions", response_model=SubscriptionOut, status_code=201)
async def admin_grant(
    session: Session, litellm: LiteLLMAdmin, user_id: uuid.UUID, body: GrantIn, principal: Decider, response: Response
) -> SubscriptionOut:
    """Grant a model to a user directly, bypassing approval: 201 when granted, 200 when already active."""
    out, changed = await service.grant(
        session, litellm, actor=principal, user_id=user_id, model_ref=body.model, reason=body.reason
    )
    if not changed:
        response.status_code = 200
    return out
