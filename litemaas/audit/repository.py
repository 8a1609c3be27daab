"""SQL for audit events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.kit.search import LIKE_ESCAPE, escape_like
from litemaas.models.audit_event import AuditEvent

# Rows fetched per round trip while an export streams.
EXPORT_BATCH = 500


async def add(session: AsyncSession, event: AuditEvent) -> AuditEvent:
    """Add ``event`` to the caller's transaction (committed with the change it describes)."""
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Search filters, one per audit column (``text``: a substring of any text the row holds)."""

    actor_id: uuid.UUID | None = None
    actor_label_contains: str | None = None
    action: str | None = None
    action_prefix: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


def _conditions(query: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.actor_id is not None:
        conditions.append(AuditEvent.actor_id == query.actor_id)
    if query.actor_label_contains:
        pattern = f"%{escape_like(query.actor_label_contains)}%"
        conditions.append(AuditEvent.actor_label.ilike(pattern, escape=LIKE_ESCAPE))
    if query.action is not None:
        conditions.append(AuditEvent.action == query.action)
    if query.action_prefix is not None:
        conditions.append(AuditEvent.action.like(f"{escape_like(query.action_prefix)}%", escape=LIKE_ESCAPE))
    if query.target_type:
        conditions.append(AuditEvent.target_type == query.target_type)
    if query.target_id:
        conditions.append(AuditEvent.target_id == query.target_id)
    if query.since:
        conditions.append(AuditEvent.occurred_at >= query.since)
    if query.until:
        conditions.append(AuditEvent.occurred_at < query.until)
    if query.text:
        pattern = f"%{escape_like(query.text)}%"
        conditions.append(
            or_(
                *(
                    column.ilike(pattern, escape=LIKE_ESCAPE)
                    for column in (
                        AuditEvent.actor_label,
                        AuditEvent.action,
                        AuditEvent.target_type,
                        AuditEvent.target_id,
                        AuditEvent.reason,
                        cast(AuditEvent.before, String),
                        cast(AuditEvent.after, String),
                    )
                )
            )
        )
    return conditions


async def search(session: AsyncSession, query: AuditFilter, *, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the number matching the filters."""
    conditions = _conditions(query)
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = await session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def get(session: AsyncSession, event_id: uuid.UUID) -> AuditEvent | None:
    return await session.get(AuditEvent, event_id)


async def set_read_only(session: AsyncSession) -> None:
    await session.execute(text("SET TRANSACTION READ ONLY"))


async def stream(session: AsyncSession, query: AuditFilter) -> AsyncIterator[AuditEvent]:
    """Every matching event, newest first, through a server-side cursor (memory stays flat)."""
    result = await session.stream_scalars(
        select(AuditEvent)
        .where(*_conditions(query))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .execution_options(yield_per=EXPORT_BATCH)
    )
    async for event in result:
        yield event
