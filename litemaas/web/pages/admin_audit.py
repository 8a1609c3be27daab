"""Admin console: the audit log — search (actor, action, target, dates, free text), detail, CSV export.

Filters are the page's query string (bookmarkable), paged server-side by the audit service the
API uses; the export link carries the same filters to ``/api/v1/admin/audit/export``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query
from fastapi.responses import HTMLResponse

from litemaas.audit.schemas import AuditEventOut
from litemaas.audit.service import AuditQuery, get_event, search
from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import page_router

router = page_router()

NAVIGATION = (NavItem("/admin/audit", N_("Audit log"), Permission.ADMIN_READ, order=60, group=N_("Administration")),)

Reader = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
PAGE_SIZE = 50
_FILTERS = ("actor", "action", "target_type", "target_id", "since", "until", "q")
Text = Annotated[str | None, Query(max_length=255)]
Day = Annotated[str | None, Query(max_length=32)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _day(value: str | None, field: str, *, end: bool) -> datetime | None:
    """A date of the form (``YYYY-MM-DD``): its start, or for ``until`` the start of the next day."""
    if not value:
        return None
    try:
        day = datetime.fromisoformat(value).date() if "T" in value else datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise BadRequest(f"{field} must be a date (YYYY-MM-DD)", field=field) from None
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("/admin/audit")
async def audit_page(
    user: Reader,
    render: Render,
    session: Session,
    actor: Text = None,
    action: Text = None,
    target_type: Text = None,
    target_id: Text = None,
    since: Day = None,
    until: Day = None,
    q: Text = None,
    offset: Offset = 0,
) -> HTMLResponse:
    filters = {
        "actor": _clean(actor),
        "action": _clean(action),
        "target_type": _clean(target_type),
        "target_id": _clean(target_id),
        "since": _clean(since),
        "until": _clean(until),
        "q": _clean(q),
    }
    try:
        query = AuditQuery(
            actor=filters["actor"],
            action=filters["action"][:100] if filters["action"] else None,
            target_type=filters["target_type"][:64] if filters["target_type"] else None,
            target_id=filters["target_id"],
            since=_day(filters["since"], "since", end=False),
            until=_day(filters["until"], "until", end=True),
            text=filters["q"][:200] if filters["q"] else None,
            limit=PAGE_SIZE,
            offset=offset,
        )
        rows, total = await search(session, query)
    except LiteMaaSError as exc:
        # The search form again, the field at fault named (no events listed).
        return render(
            "admin_audit/audit.html",
            user,
            status=exc.status,
            events=[],
            total=0,
            offset=0,
            page_size=PAGE_SIZE,
            filters={k: filters[k] or "" for k in _FILTERS},
            previous_url=None,
            next_url=None,
            export_url="/api/v1/admin/audit/export",
            error={"status": exc.status, "code": exc.code, "field": exc.field},
        )
    present = {k: v for k, v in filters.items() if v}
    export_params = {**present}
    for bound in ("since", "until"):
        when = getattr(query, bound)
        if when is not None:
            export_params[bound] = when.isoformat()
    context: dict[str, Any] = {
        "events": [AuditEventOut.model_validate(r) for r in rows],
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "filters": {k: filters[k] or "" for k in _FILTERS},
        "previous_url": f"/admin/audit?{urlencode({**present, 'offset': max(0, offset - PAGE_SIZE)})}"
        if offset > 0
        else None,
        "next_url": f"/admin/audit?{urlencode({**present, 'offset': offset + PAGE_SIZE})}"
        if offset + PAGE_SIZE < total
        else None,
        "export_url": f"/api/v1/admin/audit/export?{urlencode(export_params)}",
        "error": None,
    }
    return render("admin_audit/audit.html", user, **context)


@router.get("/admin/audit/{event_id}")
async def audit_event_page(event_id: uuid.UUID, user: Reader, render: Render, session: Session) -> HTMLResponse:
    event = AuditEventOut.model_validate(await get_event(session, event_id))
    keys = sorted(set(event.before or {}) | set(event.after or {}))
    changed = {k for k in keys if (event.before or {}).get(k) != (event.after or {}).get(k)}
    return render("admin_audit/event.html", user, event=event, keys=keys, changed=changed)
