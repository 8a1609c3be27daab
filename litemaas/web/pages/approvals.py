"""The approval queue: ``GET /admin/approvals`` and its decisions, through the subscriptions service.

Filters (several statuses, models, users, a date range) live in the query string, so a view can be
bookmarked; paging is the service's (limit/offset). Bulk approve/deny and revert call the same
service functions as ``/api/v1/admin/subscriptions/...`` and show each item's outcome. A read-only
admin sees the page with every control disabled, and the decision routes refuse them (403).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import Form, Query
from fastapi.responses import HTMLResponse

from litemaas.auth.permissions import Permission
from litemaas.db import ReadOnlySession, Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin, get_litellm_admin
from litemaas.subscriptions import service as subscriptions
from litemaas.subscriptions.schemas import BulkOut, QueueFilter
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (
    NavItem(
        "/admin/approvals",
        N_("Approvals"),
        Permission.ADMIN_READ,
        order=10,
        group=N_("Administration"),
        badge_url="/admin/approvals/badge",
    ),
)

Viewer = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
Decider = Annotated[PageSession, page_user(Permission.SUBSCRIPTIONS_DECIDE)]

STATUSES = ("pending", "active", "denied", "cancelled")
PAGE_SIZE = 50
_REASON_LENGTH = 2000
_BULK_MAX = 1000
_FILTER_FIELDS = frozenset({"status", "model", "user", "since", "until", "offset"})
Values = Annotated[list[str] | None, Query(max_length=100)]
DateParam = Annotated[str | None, Query(max_length=32)]


def _values(raw: list[str] | None) -> tuple[str, ...]:
    """Repeated parameters and comma-separated lists alike, blanks dropped, order kept."""
    found = [part.strip() for value in raw or () for part in value.split(",")]
    return tuple(dict.fromkeys(v[:255] for v in found if v))


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{field}: expected a date (YYYY-MM-DD)", field=field) from None


def _query(
    status: list[str] | None, model: list[str] | None, user: list[str] | None, since: str | None, until: str | None
) -> tuple[QueueFilter, dict[str, Any]]:
    statuses = _values(status)
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise BadRequest(f"status: unknown status {unknown[0]!r}", field="status")
    if status is None:
        statuses = ("pending",)  # the queue opens on what awaits a decision
    first, last = _day(since, "since"), _day(until, "until")
    query = QueueFilter(
        statuses=statuses,
        models=_values(model),
        users=_values(user),
        since=datetime(first.year, first.month, first.day, tzinfo=UTC) if first else None,
        # The end day is included: everything before the next midnight (UTC).
        until=datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1) if last else None,
    )
    selected = {
        "status": list(statuses),
        "model": ", ".join(query.models),
        "user": ", ".join(query.users),
        "since": first.isoformat() if first else "",
        "until": last.isoformat() if last else "",
    }
    return query, selected


def _filter_query(selected: dict[str, Any], **extra: Any) -> str:
    pairs = [("status", s) for s in selected["status"]]
    pairs += [(name, selected[name]) for name in ("model", "user", "since", "until") if selected[name]]
    pairs += [(name, str(value)) for name, value in extra.items() if value]
    return urlencode(pairs)


async def _page(
    user: PageSession,
    render: Render,
    session: Any,
    *,
    status: list[str] | None,
    model: list[str] | None,
    users: list[str] | None,
    since: str | None,
    until: str | None,
    offset: int,
    results: BulkOut | None = None,
    error: LiteMaaSError | None = None,
    http_status: int = 200,
) -> HTMLResponse:
    query, selected = _query(status, model, users, since, until)
    offset = max(offset, 0)
    items, total = await subscriptions.queue(session, query, limit=PAGE_SIZE, offset=offset)
    return render(
        "approvals/approvals.html",
        user,
        status=http_status,
        items=items,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        statuses=STATUSES,
        selected=selected,
        back=_filter_query(selected, offset=offset),
        prev_query=_filter_query(selected, offset=max(offset - PAGE_SIZE, 0)) if offset else None,
        next_query=_filter_query(selected, offset=offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        counters=await subscriptions.counters(session),
        can_decide=user.principal.can(Permission.SUBSCRIPTIONS_DECIDE),
        decidable={"approve": subscriptions.APPROVE.sources, "deny": subscriptions.DENY.sources},
        revertable=subscriptions.REVERT.sources,
        results=results,
        described=await subscriptions.many(session, [r.id for r in results.results]) if results else {},
        error=error,
    )


@router.get("/admin/approvals")
async def approvals_page(
    user: Viewer,
    render: Render,
    session: ReadOnlySession,
    status: Values = None,
    model: Values = None,
    user_filter: Annotated[list[str] | None, Query(alias="user", max_length=100)] = None,
    since: DateParam = None,
    until: DateParam = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    return await _page(
        user, render, session, status=status, model=model, users=user_filter, since=since, until=until, offset=offset
    )


@router.get("/admin/approvals/badge")
async def approvals_badge(user: Viewer, session: ReadOnlySession) -> HTMLResponse:
    """The navigation's pending counter (loaded after the page, one indexed count)."""
    pending = (await subscriptions.counters(session)).pending
    if not pending:
        return HTMLResponse("")
    return HTMLResponse(
        f'<span class="pf-v6-c-nav__link-toggle lm-nav-badge"><span class="pf-v6-c-badge pf-m-unread"'
        f' data-testid="approvals-badge">{int(pending)}</span></span>'
    )


@router.get("/admin/approvals/{subscription_id}/history")
async def history_dialog(
    subscription_id: uuid.UUID, user: Viewer, render: Render, session: ReadOnlySession
) -> HTMLResponse:
    subscription = await subscriptions.get_one(session, subscription_id, owner_id=None)
    entries = await subscriptions.history(session, subscription_id, owner_id=None)
    return render("subscriptions/_history.html", user, subscription=subscription, entries=list(reversed(entries)))


def _back(back: str) -> dict[str, Any]:
    """The page's filters from the form's ``back`` field (only the queue's own fields)."""
    found: dict[str, list[str]] = {}
    for name, value in parse_qsl(back):
        if name in _FILTER_FIELDS:
            found.setdefault(name, []).append(value)
    offset = found.get("offset", ["0"])[0]
    return {
        "status": found.get("status") or ["pending"],
        "model": found.get("model"),
        "users": found.get("user"),
        "since": (found.get("since") or [""])[0] or None,
        "until": (found.get("until") or [""])[0] or None,
        "offset": int(offset) if offset.isdigit() else 0,
    }


async def _decide(
    user: PageSession,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    *,
    ids: list[uuid.UUID],
    action: Literal["approve", "deny", "revert"],
    reason: str,
    back: str,
) -> HTMLResponse:
    view = _back(back)
    try:
        if not ids:
            raise BadRequest("ids: select at least one request", field="ids")
        if len(ids) > _BULK_MAX:
            raise BadRequest(f"ids: at most {_BULK_MAX} requests at once", field="ids")
        results = await subscriptions.decide_bulk(
            session,
            get_litellm_admin(litellm),
            actor=user.principal,
            ids=ids,
            action=action,
            reason=reason.strip()[:_REASON_LENGTH] or None,
        )
    except LiteMaaSError as exc:
        await session.rollback()
        raise AnsweredWith(await _page(user, render, session, **view, error=exc, http_status=exc.status)) from None
    return await _page(user, render, session, **view, results=results)


@router.post("/admin/approvals/decide")
async def decide(
    user: Decider,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    action: Annotated[Literal["approve", "deny"], Form()],
    ids: Annotated[list[uuid.UUID] | None, Form(max_length=_BULK_MAX + 1)] = None,
    reason: Annotated[str, Form(max_length=_REASON_LENGTH)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse:
    return await _decide(user, render, session, litellm, ids=ids or [], action=action, reason=reason, back=back)


@router.post("/admin/approvals/{subscription_id}/revert")
async def revert(
    subscription_id: uuid.UUID,
    user: Decider,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    reason: Annotated[str, Form(max_length=_REASON_LENGTH)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse:
    await subscriptions.get_one(session, subscription_id, owner_id=None)  # 404 before anything else
    return await _decide(
        user, render, session, litellm, ids=[subscription_id], action="revert", reason=reason, back=back
    )
