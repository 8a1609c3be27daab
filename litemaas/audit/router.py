"""``GET /api/v1/admin/audit``: search the audit log (admin and admin_readonly)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from litemaas.audit.schemas import AuditEventOut
from litemaas.audit.service import AuditQuery, search
from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.kit.bounds import utc_filter
from litemaas.kit.pagination import Page, Pagination

router = APIRouter(prefix="/admin/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEventOut], dependencies=[require(Permission.ADMIN_READ)])
async def search_audit(
    session: Session,
    page: Pagination,
    actor: Annotated[str | None, Query(max_length=255, description="User id or part of the actor name")] = None,
    action: Annotated[str | None, Query(max_length=100, description="Exact action, or a prefix ending in '*'")] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[datetime | None, Query(description="Inclusive lower bound (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive upper bound (ISO 8601)")] = None,
) -> Page[AuditEventOut]:
    rows, total = await search(
        session,
        AuditQuery(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=utc_filter(since, "since"),
            until=utc_filter(until, "until"),
            limit=page.limit,
            offset=page.offset,
        ),
    )
    return Page(
        items=[AuditEventOut.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
