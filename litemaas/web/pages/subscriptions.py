"""The user's subscriptions: status, reason, history, cancel and request review — through the subscriptions service.

Which action a row offers comes from the service's state machine (the actions' source states),
never from rules written here.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.errors import LiteMaaSError
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin, get_litellm_admin
from litemaas.subscriptions import service as subscriptions
from litemaas.subscriptions.schemas import SubscriptionOut
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/subscriptions", N_("Subscriptions"), Permission.SUBSCRIPTIONS_OWN, order=20),)

Subscriber = Annotated[PageSession, page_user(Permission.SUBSCRIPTIONS_OWN)]

# The states each user action starts from, as the service's state machine defines them.
ACTIONS = {
    "cancel": subscriptions.CANCEL.sources,
    "request_review": subscriptions.REQUEST_REVIEW.sources,
}
_REFRESH = {"HX-Trigger": "lm-subscriptions-changed"}
_REASON_LENGTH = 2000


async def _listing(session: Session, user: PageSession) -> dict[str, Any]:
    return {"subscriptions": await subscriptions.list_own(session, user.user_id), "actions": ACTIONS}


@router.get("/subscriptions")
async def subscriptions_page(user: Subscriber, render: Render, session: Session) -> HTMLResponse:
    return render("subscriptions/subscriptions.html", user, **await _listing(session, user))


@router.get("/subscriptions/table")
async def subscriptions_table(user: Subscriber, render: Render, session: Session) -> HTMLResponse:
    return render("subscriptions/_table.html", user, **await _listing(session, user))


async def _own(session: Session, user: PageSession, subscription_id: uuid.UUID) -> SubscriptionOut:
    """The user's own subscription (another user's is "not found", as in the API)."""
    return await subscriptions.get_one(session, subscription_id, owner_id=user.user_id)


@router.get("/subscriptions/{subscription_id}/history")
async def history_dialog(
    subscription_id: uuid.UUID, user: Subscriber, render: Render, session: Session
) -> HTMLResponse:
    subscription = await _own(session, user, subscription_id)
    entries = await subscriptions.history(session, subscription_id, owner_id=user.user_id)
    return render("subscriptions/_history.html", user, subscription=subscription, entries=list(reversed(entries)))


@router.get("/subscriptions/{subscription_id}/cancel")
async def cancel_dialog(subscription_id: uuid.UUID, user: Subscriber, render: Render, session: Session) -> HTMLResponse:
    subscription = await _own(session, user, subscription_id)
    return render("subscriptions/_action.html", user, subscription=subscription, action="cancel", error=None, reason="")


@router.post("/subscriptions/{subscription_id}/cancel")
async def cancel(
    subscription_id: uuid.UUID, user: Subscriber, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> Response:
    subscription = await _own(session, user, subscription_id)
    try:
        await subscriptions.cancel(
            session,
            get_litellm_admin(litellm),
            actor=user.principal,
            subscription_id=subscription_id,
            owner_id=user.user_id,
        )
    except LiteMaaSError as exc:
        raise AnsweredWith(
            render(
                "subscriptions/_action.html",
                user,
                status=exc.status,
                subscription=subscription,
                action="cancel",
                error={"status": exc.status, "code": exc.code, "field": exc.field},
                reason="",
            )
        ) from None
    return HTMLResponse("", headers=_REFRESH)


@router.get("/subscriptions/{subscription_id}/review")
async def review_dialog(subscription_id: uuid.UUID, user: Subscriber, render: Render, session: Session) -> HTMLResponse:
    subscription = await _own(session, user, subscription_id)
    return render(
        "subscriptions/_action.html", user, subscription=subscription, action="request_review", error=None, reason=""
    )


@router.post("/subscriptions/{subscription_id}/review")
async def request_review(
    subscription_id: uuid.UUID,
    request: Request,
    user: Subscriber,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> Response:
    subscription = await _own(session, user, subscription_id)
    raw = (await request.form()).get("reason")
    reason = raw.strip()[:_REASON_LENGTH] if isinstance(raw, str) else ""
    try:
        await subscriptions.request_review(
            session,
            get_litellm_admin(litellm),
            actor=user.principal,
            subscription_id=subscription_id,
            owner_id=user.user_id,
            reason=reason or None,
        )
    except LiteMaaSError as exc:
        raise AnsweredWith(
            render(
                "subscriptions/_action.html",
                user,
                status=exc.status,
                subscription=subscription,
                action="request_review",
                error={"status": exc.status, "code": exc.code, "field": exc.field},
                reason=reason,
            )
        ) from None
    return HTMLResponse("", headers=_REFRESH)
