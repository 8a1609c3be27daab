"""Backups console: ``GET /admin/backups`` (list, results), create now and test restore (operations:run).

The page calls the backups service exactly as ``/api/v1/admin/backups`` does (same checks, same
audit rows). Both actions are synchronous forms: the browser waits while the backup or test
restore runs, then lands on the page again with the backup selected and its result shown (the
result is also stored next to the backup, so a reload or another replica shows it too).
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from litemaas.auth.permissions import Permission
from litemaas.backups import service
from litemaas.backups.dependencies import get_backup_config
from litemaas.backups.errors import BackupsNotConfigured
from litemaas.backups.schemas import BACKUP_ID_PATTERN, BackupDetail, BackupList
from litemaas.db import Session
from litemaas.dependencies import AppSettings
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import page_router

router = page_router()
log = structlog.get_logger("litemaas.web")

NAVIGATION = (NavItem("/admin/backups", N_("Backups"), Permission.ADMIN_READ, order=95, group=N_("Administration")),)

BackupsViewer = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
BackupsOperator = Annotated[PageSession, page_user(Permission.OPERATIONS_RUN)]
# Failures the page explains in its own words; anything else is "failed" with no detail.
KNOWN_FAILURES = frozenset(
    {
        "backup_busy",
        "backups_not_configured",
        "backup_storage_unavailable",
        "pg_tools_unavailable",
        "backup_failed",
        "backup_not_found",
    }
)
DONE = frozenset({"created", "test_restore"})


@router.get("/admin/backups")
async def backups_page(
    user: BackupsViewer,
    render: Render,
    settings: AppSettings,
    backup: Annotated[str | None, Query(max_length=64, pattern=BACKUP_ID_PATTERN)] = None,
    done: Annotated[str | None, Query(max_length=32)] = None,
    failed: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    listing: BackupList | None = None
    selected: BackupDetail | None = None
    problem: str | None = None
    try:
        config = get_backup_config(settings)
        listing = await service.list_for(config)
        if backup is not None:
            selected = await service.detail_for(config, backup)
    except BackupsNotConfigured:
        problem = "backups_not_configured"
    except LiteMaaSError as exc:
        log.warning("web.backups.read_failed", code=exc.code)
        problem = exc.code if exc.code in KNOWN_FAILURES else "unavailable"
    return render(
        "admin_backups/backups.html",
        user,
        listing=listing,
        selected=selected,
        problem=problem,
        done=done if done in DONE else None,
        failed=(failed if failed in KNOWN_FAILURES else "other") if failed else None,
        can_run=user.principal.can(Permission.OPERATIONS_RUN),
    )


def _outcome(backup_id: str | None, *, done: str | None = None, failed: str | None = None) -> Response:
    query = [f"backup={backup_id}"] if backup_id else []
    query += [f"done={done}"] if done else []
    query += [f"failed={failed}"] if failed else []
    return RedirectResponse("/admin/backups" + ("?" + "&".join(query) if query else ""), status_code=303)


@router.post("/admin/backups/create")
async def create_backup(
    user: BackupsOperator,
    settings: AppSettings,
    session: Session,
    action: Annotated[str | None, Form(max_length=16)] = None,
) -> Response:
    if action != "create":
        # The page's form names what it does; anything else is not that form.
        raise BadRequest("action: expected 'create'", field="action")
    try:
        detail = await service.create_for(session, get_backup_config(settings), user.principal)
    except LiteMaaSError as exc:
        log.warning("web.backups.create_failed", code=exc.code)
        return _outcome(None, failed=exc.code)
    return _outcome(detail.manifest.id, done="created")


@router.post("/admin/backups/{backup_id}/test-restore")
async def test_restore(
    backup_id: str,
    user: BackupsOperator,
    settings: AppSettings,
    session: Session,
    action: Annotated[str | None, Form(max_length=16)] = None,
) -> Response:
    if action != "test-restore":
        raise BadRequest("action: expected 'test-restore'", field="action")
    backup_id = service.check_id(backup_id)
    try:
        await service.verify_for(session, get_backup_config(settings), user.principal, backup_id, restore=True)
    except LiteMaaSError as exc:
        log.warning("web.backups.test_restore_failed", code=exc.code)
        return _outcome(backup_id, failed=exc.code)
    return _outcome(backup_id, done="test_restore")
