"""Usage routes (HTTP only): a user's own analytics and the admin's system-wide view.

Analytics take their filters as a JSON body (``POST``) and run in a read-only transaction, so a
read-only admin may call the admin one; exports are ``GET`` with the same filters as query
parameters, so a browser can download them from a link.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.db import ReadOnlySession, Session
from litemaas.litellm_admin.dependencies import LiteLLMAdmin
from litemaas.usage import export, service
from litemaas.usage.dependencies import Runtime, UsageAdminReader, UsageOwner, UsageRefresher
from litemaas.usage.errors import InvalidUsageQuery
from litemaas.usage.schemas import (
    AdminAnalyticsRequest,
    AdminUsageFilters,
    AnalyticsOut,
    AnalyticsRequest,
    BudgetOut,
    ExportFormat,
    ExportView,
    FilterOptions,
    RebuildRequest,
    RefreshOut,
    UsageFilters,
    UsageStatus,
)

router = APIRouter(prefix="/usage", tags=["usage"])
admin_router = APIRouter(prefix="/admin/usage", tags=["usage"])

DateQuery = Annotated[str, Query(max_length=32, description="YYYY-MM-DD (UTC)")]
Values = Annotated[list[str] | None, Query()]


def _filters(model: type[UsageFilters], **values: object) -> UsageFilters:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error.get("loc") else None
        raise InvalidUsageQuery(f"{field}: {error['msg']}", field=field) from None


async def _export(
    session: ReadOnlySession,
    runtime: Runtime,
    filters: UsageFilters,
    principal: Principal,
    view: ExportView,
    fmt: ExportFormat,
    *,
    admin: bool,
) -> StreamingResponse:
    await service.refresh_for(runtime, filters)
    scope = await service.build_scope(session, filters, principal, admin=admin)
    if view is ExportView.DAILY:
        body = export.stream_daily(runtime.sessionmaker, scope, fmt)
    else:
        body = export.stream_rows(fmt, view, await service.breakdown_rows(session, runtime, scope, view))
    name = export.filename(view, fmt, scope.start, scope.end, "all" if admin else "own")
    return StreamingResponse(
        body,
        media_type=export.media_type(fmt),
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# --------------------------------------------------------------------------- a user's own usage


@router.post("/analytics", response_model=AnalyticsOut)
async def own_analytics(
    body: AnalyticsRequest, principal: UsageOwner, session: ReadOnlySession, runtime: Runtime
) -> AnalyticsOut:
    """Totals, trend, daily series and breakdowns of the caller's own usage."""
    return await service.analytics(session, runtime, body, body, principal, admin=False)


@router.get("/filters", response_model=FilterOptions)
async def own_filter_options(
    start_date: DateQuery, end_date: DateQuery, principal: UsageOwner, session: ReadOnlySession, runtime: Runtime
) -> FilterOptions:
    return await service.filter_options(session, runtime, start_date, end_date, principal, admin=False)


@router.get("/export")
async def own_export(
    principal: UsageOwner,
    session: ReadOnlySession,
    runtime: Runtime,
    start_date: DateQuery,
    end_date: DateQuery,
    model: Values = None,
    provider: Values = None,
    key: Values = None,
    view: ExportView = ExportView.DAILY,
    format: ExportFormat = ExportFormat.CSV,
) -> StreamingResponse:
    """The caller's usage as CSV or JSON, streamed (``view``: daily rows or one breakdown)."""
    filters = _filters(
        UsageFilters,
        start_date=start_date,
        end_date=end_date,
        models=model or [],
        providers=provider or [],
        keys=key or [],
    )
    return await _export(session, runtime, filters, principal, view, format, admin=False)


@router.get("/budget", response_model=BudgetOut)
async def own_budget(principal: UsageOwner, session: Session, litellm: LiteLLMAdmin) -> BudgetOut:
    """Spend against budget, per key and for the caller (live from LiteLLM)."""
    return await service.budget(session, litellm, principal.user_id)


# --------------------------------------------------------------------------- admin


@admin_router.post("/analytics", response_model=AnalyticsOut)
async def admin_analytics(
    body: AdminAnalyticsRequest, principal: UsageAdminReader, session: ReadOnlySession, runtime: Runtime
) -> AnalyticsOut:
    """System-wide analytics, filtered by users, models, providers and keys."""
    return await service.analytics(session, runtime, body, body, principal, admin=True)


@admin_router.get("/filters", response_model=FilterOptions)
async def admin_filter_options(
    start_date: DateQuery,
    end_date: DateQuery,
    principal: UsageAdminReader,
    session: ReadOnlySession,
    runtime: Runtime,
) -> FilterOptions:
    return await service.filter_options(session, runtime, start_date, end_date, principal, admin=True)


@admin_router.get("/export")
async def admin_export(
    principal: UsageAdminReader,
    session: ReadOnlySession,
    runtime: Runtime,
    start_date: DateQuery,
    end_date: DateQuery,
    user: Values = None,
    model: Values = None,
    provider: Values = None,
    key: Values = None,
    view: ExportView = ExportView.DAILY,
    format: ExportFormat = ExportFormat.CSV,
) -> StreamingResponse:
    filters = _filters(
        AdminUsageFilters,
        start_date=start_date,
        end_date=end_date,
        users=user or [],
        models=model or [],
        providers=provider or [],
        keys=key or [],
    )
    return await _export(session, runtime, filters, principal, view, format, admin=True)


@admin_router.get("/budget/{user_id}", response_model=BudgetOut, dependencies=[require(Permission.USAGE_ADMIN_READ)])
async def admin_budget(user_id: uuid.UUID, session: Session, litellm: LiteLLMAdmin) -> BudgetOut:
    return await service.budget(session, litellm, user_id)


@admin_router.get("/status", response_model=UsageStatus)
async def usage_status(principal: UsageAdminReader, session: ReadOnlySession, runtime: Runtime) -> UsageStatus:
    """The cache: days held, the last refresh, today's and yesterday's copies."""
    return await service.status(session, runtime)


@admin_router.post("/refresh", response_model=RefreshOut)
async def refresh_now(principal: UsageRefresher, runtime: Runtime) -> RefreshOut:
    """Fetch today again now (and yesterday while it may still change)."""
    service.require_source(runtime)
    return await service.refresh_today(runtime)


@admin_router.post("/rebuild", response_model=RefreshOut)
async def rebuild(body: RebuildRequest, principal: UsageRefresher, runtime: Runtime) -> RefreshOut:
    """Fetch every day of a range again (at most 366 days), final or not."""
    service.require_source(runtime)
    start, end = service.parse_range(body.start_date, body.end_date)
    return await service.refresh_range(runtime, start, end, force=True)
