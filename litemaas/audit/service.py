"""Recording and searching audit events.

The audit log knows actors only through the ``Actor`` protocol: an authenticated caller
(``auth.principal.Principal``) and a ``SystemActor`` both fit it, and audit imports no auth code.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.audit import repository
from litemaas.audit.errors import AuditEventNotFound, InvalidTimeRange
from litemaas.audit.repository import AuditFilter
from litemaas.kit.redaction import redact, redact_text
from litemaas.models.audit_event import AuditEvent

log = structlog.get_logger("litemaas.audit")

# Bytes of CSV gathered before a chunk is sent.
_CHUNK = 64 * 1024


class Actor(Protocol):
    """Whoever makes a change, as the audit log records it."""

    @property
    def user_id(self) -> uuid.UUID | None: ...

    @property
    def label(self) -> str:
        """How the actor appears in audit rows and logs ("alice", "token:ci (alice)", "cli")."""
        ...

    @property
    def via(self) -> str:
        """How the actor came in: ``session``, ``token``, ``cli``, ``login``, ``system``, ..."""
        ...

    @property
    def source_ip(self) -> str | None: ...

    @property
    def request_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class SystemActor:
    """A non-human actor: ``cli`` (an operator at the command line), ``system``, a job name."""

    label: str
    via: str = "system"
    user_id: uuid.UUID | None = None
    source_ip: str | None = None
    request_id: str | None = None


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    # default=str turns UUIDs, datetimes, Decimals and enums into plain JSON values.
    return json.loads(json.dumps(redact(value), default=str))


async def record(  # noqa: PLR0913  keyword-only fields of one audit row
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
    request_id = actor.request_id or structlog.contextvars.get_contextvars().get("request_id")
    source_ip = source_ip or actor.source_ip
    label = actor.label
    event = AuditEvent(
        actor_id=actor.user_id,
        actor_label=redact_text(label)[:255],
        actor_via=actor.via[:16],
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        before=_jsonable(before),
        after=_jsonable(after),
        reason=redact_text(reason) if reason else None,
        source_ip=source_ip,
        request_id=str(request_id)[:64] if request_id else None,
    )
    await repository.add(session, event)
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
    text: str | None = None  # a substring of any text of the row (actor, action, target, reason, before/after)
    limit: int = 50
    offset: int = 0


def _filter(query: AuditQuery) -> AuditFilter:
    if query.since and query.until and query.since >= query.until:
        raise InvalidTimeRange("'since' must be before 'until'", field="since")
    actor_id: uuid.UUID | None = None
    actor_label: str | None = None
    if query.actor:
        try:
            actor_id = uuid.UUID(query.actor)
        except ValueError:
            actor_label = query.actor
    action: str | None = None
    action_prefix: str | None = None
    if query.action:
        if query.action.endswith(("*", ".")):
            action_prefix = query.action.rstrip("*")
        else:
            action = query.action
    return AuditFilter(
        actor_id=actor_id,
        actor_label_contains=actor_label,
        action=action,
        action_prefix=action_prefix,
        target_type=query.target_type,
        target_id=query.target_id,
        since=query.since,
        until=query.until,
        text=query.text,
    )


async def search(session: AsyncSession, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    """One page of matching events, newest first, and how many match in all."""
    return await repository.search(session, _filter(query), limit=query.limit, offset=query.offset)


async def get_event(session: AsyncSession, event_id: uuid.UUID) -> AuditEvent:
    event = await repository.get(session, event_id)
    if event is None:
        raise AuditEventNotFound(f"audit event {event_id} not found")
    return event


EXPORT_COLUMNS = (
    "occurred_at",
    "actor_label",
    "actor_id",
    "actor_via",
    "action",
    "target_type",
    "target_id",
    "reason",
    "source_ip",
    "request_id",
    "before",
    "after",
)
# Spreadsheets run a cell starting with these as a formula (CSV injection): such cells get a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_query(query: AuditQuery) -> AuditFilter:
    """The export's filters (checked before the first byte is sent, so a bad range is a 400)."""
    return _filter(query)


async def export_csv(sessionmaker: async_sessionmaker[AsyncSession], filters: AuditFilter) -> AsyncIterator[bytes]:
    """Every matching event as CSV, newest first, read through a cursor in a read-only transaction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    async with sessionmaker() as session:
        await repository.set_read_only(session)
        count = 0
        async for event in repository.stream(session, filters):
            writer.writerow([_cell(getattr(event, column)) for column in EXPORT_COLUMNS])
            count += 1
            if buffer.tell() >= _CHUNK:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        await session.rollback()
    yield buffer.getvalue().encode()
    log.info("audit.export.done", rows=count)
