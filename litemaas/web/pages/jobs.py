"""Operational jobs in the console: ``GET /admin/jobs`` (admin and admin_readonly), ``POST`` to run them (admin).

Reconcile and the key cleanup each have a dry run (shows what would change) and a real run;
both call the same functions as the API (``/api/v1/admin/jobs/...``) and are recorded in
``job_runs``, whose latest entries the page lists (paged, filterable by job in the query string).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import structlog
from fastapi import Form, Query
from fastapi.responses import HTMLResponse

from litemaas.auth.permissions import Permission
from litemaas.db import Session, Sessionmaker
from litemaas.dependencies import AppSettings
from litemaas.errors import LiteMaaSError
from litemaas.jobs import service
from litemaas.jobs.cleanup import run_cleanup
from litemaas.jobs.reconcile import run_reconcile
from litemaas.jobs.schemas import JOB_NAMES
from litemaas.litellm_admin import LiteLLMUnavailable
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin
from litemaas.upstream import upstream_error
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import page_router

router = page_router()
log = structlog.get_logger("litemaas.web")

NAVIGATION = (NavItem("/admin/jobs", N_("Jobs"), Permission.ADMIN_READ, order=90, group=N_("Administration")),)

JobsViewer = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
JobsRunner = Annotated[PageSession, page_user(Permission.OPERATIONS_RUN)]
# A form without a mode (not the page's) gets the harmless dry run.
Mode = Annotated[Literal["dry_run", "run"], Form()]
PAGE_SIZE = 20


async def _page(
    user: PageSession,
    render: Render,
    session: Any,
    settings: AppSettings,
    *,
    job: str | None,
    page: int,
    status: int = 200,
    **result: Any,
) -> HTMLResponse:
    runs = await service.list_runs(session, job=job, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    shown: dict[str, Any] = {"failed": None, "error": None, "reconcile": None, "cleanup": None, **result}
    pages = max(1, -(-runs.total // PAGE_SIZE))
    return render(
        "jobs/jobs.html",
        user,
        status=status,
        runs=runs,
        job=job,
        jobs=JOB_NAMES,
        page=page,
        pages=pages,
        can_run=user.principal.can(Permission.OPERATIONS_RUN),
        max_age_days=await service.cleanup_max_age_days(session, settings.key_cleanup_max_age_days),
        **shown,
    )


@router.get("/admin/jobs")
async def jobs_page(
    user: JobsViewer,
    render: Render,
    session: Session,
    settings: AppSettings,
    job: Annotated[Literal["reconcile", "cleanup-keys", "backup"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    return await _page(user, render, session, settings, job=job, page=page)


@router.post("/admin/jobs/reconcile")
async def reconcile_from_page(
    user: JobsRunner,
    render: Render,
    session: Session,
    sessionmaker: Sessionmaker,
    settings: AppSettings,
    litellm: OptionalLiteLLMAdmin,
    mode: Mode = "dry_run",
) -> HTMLResponse:
    dry_run = mode == "dry_run"
    if litellm is None:
        return await _page(user, render, session, settings, job=None, page=1, status=503, failed="reconcile")
    report, run_id = await run_reconcile(sessionmaker, litellm, actor=user.principal, dry_run=dry_run)
    return await _page(
        user, render, session, settings, job=None, page=1, reconcile=report.as_dict(), run_id=str(run_id)
    )


@router.post("/admin/jobs/cleanup-keys")
async def cleanup_from_page(
    user: JobsRunner,
    render: Render,
    session: Session,
    sessionmaker: Sessionmaker,
    settings: AppSettings,
    litellm: OptionalLiteLLMAdmin,
    mode: Mode = "dry_run",
) -> HTMLResponse:
    try:
        if litellm is None:
            raise upstream_error(LiteLLMUnavailable("LiteLLM is not configured", operation="cleanup"))
        report = await run_cleanup(
            sessionmaker,
            litellm,
            actor=user.principal,
            default_max_age_days=settings.key_cleanup_max_age_days,
            dry_run=mode == "dry_run",
            max_age_days=None,
        )
    except LiteMaaSError as exc:
        log.warning("web.jobs.cleanup_failed", code=exc.code)
        return await _page(
            user, render, session, settings, job=None, page=1, status=exc.status, failed="cleanup", error=exc.message
        )
    return await _page(user, render, session, settings, job=None, page=1, cleanup=report.model_dump(mode="json"))
