"""``/api/v1/admin/audit``: search the audit log, one event, CSV export (admin and admin_readonly)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from litemaas.audit.schemas import AuditEventOut
from litemaas.audit.service import AuditQuery, export_csv, export_query, get_event, search
from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.db import Session, Sessionmaker
from litemaas.kit.bounds import utc_filter
from litemaas.kit.pagination import Page, Pagination

router = APIRouter(prefix="/admin/audit", tags=["audit"])

Actor = Annotated[str | None, Query(max_length=255, description="User id or part of the actor name")]
Action = Annotated[str | None, Query(max_length=100, description="Exact action, or a prefix ending in '*'")]
TargetType = Annotated[str | None, Query(max_length=64)]
TargetId = Annotated[str | None, Query(max_length=255)]
Since = Annotated[datetime | None, Query(description="Inclusive lower bound (ISO 8601)")]
Until = Annotated[datetime | None, Query(description="Exclusive upper bound (ISO 8601)")]
Text = Annotated[
    str | None, Query(max_length=200, description="Free text: part of the actor, action, target, reason or values")
]


def _query(
    actor: str | None,
    action: str | None,
    target_type: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    q: str | None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> AuditQuery:
    return AuditQuery(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=utc_filter(since, "since"),
        until=utc_filter(until, "until"),
        text=q.strip() or None if q else None,
        limit=limit,
        offset=offset,
    )


@router.get("", response_model=Page[AuditEventOut], dependencies=[require(Permission.ADMIN_READ)])
async def search_audit(
    session: Session,
    page: Pagination,
    actor: Actor = None,
    action: Action = None,
    target_type: TargetType = None,
    target_id: TargetId = None,
    since: Since = None,
    until: Until = None,
    q: Text = None,
) -> Page[AuditEventOut]:
    query = _query(actor, action, target_type, target_id, since, until, q, limit=page.limit, offset=page.offset)
    rows, total = await search(session, query)
    return Page(
        items=[AuditEventOut.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/export",
    dependencies=[require(Permission.ADMIN_READ)],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "Every matching event as CSV, newest first"}},
)
async def export_audit(
    sessionmaker: Sessionmaker,
    actor: Actor = None,
    action: Action = None,
    target_type: TargetType = None,
    target_id: TargetId = None,
    since: Since = None,
    until: Until = None,
    q: Text = None,
) -> StreamingResponse:
    """The search's filters, every page at once (streamed, so any size fits)."""
    filters = export_query(_query(actor, action, target_type, target_id, since, until, q))
    return StreamingResponse(
        export_csv(sessionmaker, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"', "Cache-Control": "no-store"},
    )


@router.get("/{event_id}", response_model=AuditEventOut, dependencies=[require(Permission.ADMIN_READ)])
async def get_audit_event(session: Session, event_id: uuid.UUID) -> AuditEventOut:
    """One event with its before and after."""
    return AuditEventOut.model_validate(await get_event(session, event_id))
