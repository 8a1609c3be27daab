"""SQL for audit events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.kit.search import LIKE_ESCAPE, escape_like
from litemaas.models.audit_event import AuditEvent


async def add(session: AsyncSession, event: AuditEvent) -> AuditEvent:
    """Add ``event`` to the caller's transaction (committed with the change it describes)."""
    session.add(event)
    await session.flush()
    return event


async def search(  # noqa: PLR0913  keyword-only search filters, one per audit column
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None = None,
    actor_label_contains: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the number matching the filters."""
    conditions: list[ColumnElement[bool]] = []
    if actor_id is not None:
        conditions.append(AuditEvent.actor_id == actor_id)
    if actor_label_contains:
        conditions.append(AuditEvent.actor_label.ilike(f"%{escape_like(actor_label_contains)}%", escape=LIKE_ESCAPE))
    if action is not None:
        conditions.append(AuditEvent.action == action)
    if action_prefix is not None:
        conditions.append(AuditEvent.action.like(f"{escape_like(action_prefix)}%", escape=LIKE_ESCAPE))
    if target_type:
        conditions.append(AuditEvent.target_type == target_type)
    if target_id:
        conditions.append(AuditEvent.target_id == target_id)
    if since:
        conditions.append(AuditEvent.occurred_at >= since)
    if until:
        conditions.append(AuditEvent.occurred_at < until)
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = await session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)
