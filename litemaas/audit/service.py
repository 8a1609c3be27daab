"""Recording and searching audit events."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.audit.redaction import redact, redact_text
from litemaas.auth.principal import Principal
from litemaas.models.audit_event import AuditEvent

log = structlog.get_logger("litemaas.audit")


@dataclass(frozen=True, slots=True)
class SystemActor:
    """A non-human actor: ``cli`` (an operator at the command line), ``system``, a job name."""

    label: str
    via: str = "system"
    user_id: uuid.UUID | None = None


Actor = Principal | SystemActor


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    # default=str turns UUIDs, datetimes, Decimals and enums into plain JSON values.
    return json.loads(json.dumps(redact(value), default=str))


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    source_ip: str | None = None,
) -> AuditEvent:
    """Add an audit row to the caller's transaction (committed with the change it describes)."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    actor_id: uuid.UUID | None = actor.user_id
    label: str = actor.label
    via: str = actor.via
    if isinstance(actor, Principal):
        source_ip = source_ip or actor.source_ip
        request_id = actor.request_id or request_id
    event = AuditEvent(
        actor_id=actor_id,
        actor_label=redact_text(label)[:255],
        actor_via=via[:16],
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        before=_jsonable(before),
        after=_jsonable(after),
        reason=redact_text(reason) if reason else None,
        source_ip=source_ip,
        request_id=str(request_id)[:64] if request_id else None,
    )
    session.add(event)
    await session.flush()
    log.info("audit.recorded", action=action, target_type=target_type, target_id=event.target_id, actor=label)
    return event


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actor: str | None = None  # user id, or a substring of the actor label
    action: str | None = None  # exact action, or a prefix ending in '.' or '*'
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


async def search(session: AsyncSession, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    conditions = []
    if query.actor:
        try:
            conditions.append(AuditEvent.actor_id == uuid.UUID(query.actor))
        except ValueError:
            escaped = query.actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(AuditEvent.actor_label.ilike(f"%{escaped}%", escape="\\"))
    if query.action:
        if query.action.endswith(("*", ".")):
            prefix = query.action.rstrip("*")
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(AuditEvent.action.like(f"{escaped}%", escape="\\"))
        else:
            conditions.append(AuditEvent.action == query.action)
    if query.target_type:
        conditions.append(AuditEvent.target_type == query.target_type)
    if query.target_id:
        conditions.append(AuditEvent.target_id == query.target_id)
    if query.since:
        conditions.append(AuditEvent.occurred_at >= query.since)
    if query.until:
        conditions.append(AuditEvent.occurred_at < query.until)
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = await session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    return list(rows.all()), int(total or 0)
