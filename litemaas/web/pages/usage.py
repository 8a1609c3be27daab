"""Usage dashboards: ``GET /usage`` (the user's own) and ``GET /admin/usage`` (system-wide).

Both call the usage service exactly as the API routes do (same filters, same checks, same
answer); the page only lays the answer out. Filters are the page's query string, so a view can
be bookmarked and the export links carry the same filters to the export endpoints. The refresh
button posts to ``POST /admin/usage/refresh`` (admin only; the API refuses a read-only admin too).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

import structlog
from fastapi import Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from litemaas.auth.permissions import Permission
from litemaas.db import ReadOnlySession, Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.kit.time import utcnow
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin
from litemaas.usage import refresh as refresher
from litemaas.usage import service
from litemaas.usage.dependencies import Runtime
from litemaas.usage.errors import InvalidUsageQuery, RefreshBusy, UsageSourceUnavailable
from litemaas.usage.schemas import AdminAnalyticsRequest, AnalyticsRequest, BudgetOut, ExportFormat, ExportView
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import page_router

router = page_router()
log = structlog.get_logger("litemaas.web")

NAVIGATION = (
    NavItem("/usage", N_("Usage"), Permission.USAGE_OWN, order=50),
    NavItem("/admin/usage", N_("Usage"), Permission.USAGE_ADMIN_READ, order=20, group=N_("Administration")),
)

UsageUser = Annotated[PageSession, page_user(Permission.USAGE_OWN)]
UsageAdmin = Annotated[PageSession, page_user(Permission.USAGE_ADMIN_READ)]
UsageRefresher = Annotated[PageSession, page_user(Permission.USAGE_ADMIN_REFRESH)]

DEFAULT_DAYS = 30
DateParam = Annotated[str | None, Query(max_length=32)]
Values = Annotated[list[str] | None, Query(max_length=100)]
# Rows of each breakdown on the page (the exports hold all of them).
BREAKDOWN_ROWS = 50
# The dashboard's own filters: all that the refresh button's redirect keeps of its query.
_BACK_FIELDS = frozenset({"start_date", "end_date", "user", "model", "provider", "key"})
EXPORTS = (
    (ExportView.DAILY, ExportFormat.CSV),
    (ExportView.DAILY, ExportFormat.JSON),
    (ExportView.MODELS, ExportFormat.CSV),
    (ExportView.KEYS, ExportFormat.CSV),
)


def _range(start: str | None, end: str | None) -> tuple[str, str]:
    """The requested range; blank ends default to the last 30 days up to today (UTC)."""
    today = refresher.today(utcnow())
    last = end or today.isoformat()
    first = start or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return first, last


def _request(model: type[AnalyticsRequest | AdminAnalyticsRequest], **values: Any) -> Any:
    """The API's request body from the query string: a bad value is the API's 400 naming the field."""
    try:
        return model.model_validate({**values, "limit": BREAKDOWN_ROWS})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error.get("loc") else None
        raise InvalidUsageQuery(f"{field}: {error['msg']}", field=field) from None


def _export_links(base: str, filters: dict[str, Any]) -> list[dict[str, str]]:
    query = [(name, value) for name, values in filters.items() for value in values]
    return [
        {
            "view": view.value,
            "format": fmt.value,
            "href": f"{base}?{urlencode([*query, ('view', view.value), ('format', fmt.value)])}",
        }
        for view, fmt in EXPORTS
    ]


@router.get("/usage")
async def usage_page(
    user: UsageUser,
    render: Render,
    session: ReadOnlySession,
    budget_session: Session,
    runtime: Runtime,
    litellm: OptionalLiteLLMAdmin,
    start_date: DateParam = None,
    end_date: DateParam = None,
    model: Values = None,
    provider: Values = None,
    key: Values = None,
) -> HTMLResponse:
    start, end = _range(start_date, end_date)
    request: AnalyticsRequest = _request(
        AnalyticsRequest, start_date=start, end_date=end, models=model or [], providers=provider or [], keys=key or []
    )
    result = await service.analytics(session, runtime, request, request, user.principal, admin=False)
    options = await service.filter_options(session, runtime, start, end, user.principal, admin=False)
    budget: BudgetOut | None = None
    if litellm is not None:
        try:
            budget = await service.budget(budget_session, litellm, user.user_id)
        except LiteMaaSError:
            budget = None  # LiteLLM unreachable: the page shows the analytics without live budgets.
    filters = {
        "start_date": [start],
        "end_date": [end],
        "model": request.models,
        "provider": request.providers,
        "key": request.keys,
    }
    return render(
        "usage/usage.html",
        user,
        admin=False,
        result=result,
        options=options,
        budget=budget,
        selected=filters,
        exports=_export_links("/api/v1/usage/export", filters),
    )


@router.get("/admin/usage")
async def admin_usage_page(
    user: UsageAdmin,
    render: Render,
    session: ReadOnlySession,
    runtime: Runtime,
    start_date: DateParam = None,
    end_date: DateParam = None,
    user_id: Annotated[list[str] | None, Query(alias="user", max_length=100)] = None,
    model: Values = None,
    provider: Values = None,
    key: Values = None,
    refreshed: Annotated[Literal["done", "failed"] | None, Query()] = None,
) -> HTMLResponse:
    start, end = _range(start_date, end_date)
    request: AdminAnalyticsRequest = _request(
        AdminAnalyticsRequest,
        start_date=start,
        end_date=end,
        users=user_id or [],
        models=model or [],
        providers=provider or [],
        keys=key or [],
    )
    result = await service.analytics(session, runtime, request, request, user.principal, admin=True)
    options = await service.filter_options(session, runtime, start, end, user.principal, admin=True)
    filters = {
        "start_date": [start],
        "end_date": [end],
        "user": request.users,
        "model": request.models,
        "provider": request.providers,
        "key": request.keys,
    }
    return render(
        "usage/usage.html",
        user,
        admin=True,
        result=result,
        options=options,
        budget=None,
        selected=filters,
        exports=_export_links("/api/v1/admin/usage/export", filters),
        status_info=await service.status(session, runtime),
        can_refresh=user.principal.can(Permission.USAGE_ADMIN_REFRESH),
        refreshed=refreshed,
        return_query=urlencode([(n, v) for n, values in filters.items() for v in values]),
    )


@router.post("/admin/usage/refresh")
async def refresh_today(
    user: UsageRefresher,
    runtime: Runtime,
    scope: Annotated[str | None, Form(max_length=16)] = None,
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Copy today (and yesterday while it may change) again now, then show the dashboard again."""
    if scope != "today":
        # The dashboard's form names what it refreshes; anything else is not that form.
        raise BadRequest("scope: expected 'today'", field="scope")
    try:
        service.require_source(runtime)
        await service.refresh_today(runtime)
        outcome = "done"
    except (UsageSourceUnavailable, RefreshBusy) as exc:
        # The dashboard says so (with the figures as they are) rather than an error page.
        log.warning("web.usage.refresh_failed", code=exc.code)
        outcome = "failed"
    # Only the dashboard's own query string comes back: never an open redirect.
    kept = [(k, v) for k, v in parse_qsl(back) if k in _BACK_FIELDS]
    query = urlencode([("refreshed", outcome), *kept])
    return RedirectResponse(f"/admin/usage?{query}", status_code=303)
