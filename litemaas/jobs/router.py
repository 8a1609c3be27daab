"""Admin endpoints of the jobs: run reconcile and the key cleanup (dry run or for real), their runs, exemptions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.db import Session, Sessionmaker
from litemaas.dependencies import AppSettings
from litemaas.jobs import service
from litemaas.jobs.cleanup import run_cleanup
from litemaas.jobs.reconcile import run_reconcile
from litemaas.jobs.schemas import JOB_NAMES, CleanupReportOut, ExemptionIn, ExemptionOut, JobRunOut, JobRunPage
from litemaas.litellm_admin.dependencies import LiteLLMAdmin

router = APIRouter(tags=["operations"])

Operator = Annotated[Principal, require(Permission.OPERATIONS_RUN)]
KeysAdmin = Annotated[Principal, require(Permission.KEYS_ADMIN_WRITE)]


async def _reconcile(
    sessionmaker: Sessionmaker, litellm: LiteLLMAdmin, principal: Principal, dry_run: bool
) -> dict[str, Any]:
    # Reconcile commits per user (each under that user's key lock), so it uses its own sessions.
    report, run_id = await run_reconcile(sessionmaker, litellm, actor=principal, dry_run=dry_run)
    return {**report.as_dict(), "run_id": str(run_id)}


@router.post("/admin/reconcile")
async def run_reconcile_legacy(
    sessionmaker: Sessionmaker, litellm: LiteLLMAdmin, principal: Operator, dry_run: bool = False
) -> dict[str, Any]:
    """The same as ``POST /admin/jobs/reconcile`` (kept for scripts written against it)."""
    return await _reconcile(sessionmaker, litellm, principal, dry_run)


@router.post("/admin/jobs/reconcile")
async def run_reconcile_job(
    sessionmaker: Sessionmaker, litellm: LiteLLMAdmin, principal: Operator, dry_run: bool = False
) -> dict[str, Any]:
    """Find drift between LiteMaaS and LiteLLM; with ``dry_run=false`` repair it. Recorded as a job run."""
    return await _reconcile(sessionmaker, litellm, principal, dry_run)


@router.post("/admin/jobs/cleanup-keys", response_model=CleanupReportOut)
async def run_cleanup_keys(
    sessionmaker: Sessionmaker,
    litellm: LiteLLMAdmin,
    principal: Operator,
    settings: AppSettings,
    dry_run: bool = False,
    max_age_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
) -> CleanupReportOut:
    """Delete expired and old LiteMaaS keys in LiteLLM and mark them revoked (``dry_run``: only list them)."""
    return await run_cleanup(
        sessionmaker,
        litellm,
        actor=principal,
        default_max_age_days=settings.key_cleanup_max_age_days,
        dry_run=dry_run,
        max_age_days=max_age_days,
    )


@router.get("/admin/jobs/runs", response_model=JobRunPage, dependencies=[require(Permission.ADMIN_READ)])
async def list_runs(
    session: Session,
    job: Annotated[str | None, Query(max_length=64, description=f"One of {', '.join(JOB_NAMES)}")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobRunPage:
    return await service.list_runs(session, job=job, limit=limit, offset=offset)


@router.get("/admin/jobs/runs/{run_id}", response_model=JobRunOut, dependencies=[require(Permission.ADMIN_READ)])
async def get_run(session: Session, run_id: uuid.UUID) -> JobRunOut:
    return await service.get_run(session, run_id)


@router.get(
    "/admin/jobs/cleanup-keys/exemptions",
    response_model=list[ExemptionOut],
    dependencies=[require(Permission.ADMIN_READ)],
)
async def list_exemptions(session: Session) -> list[ExemptionOut]:
    return await service.list_exemptions(session)


@router.put("/admin/jobs/cleanup-keys/exemptions/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def exempt_user(
    session: Session, principal: KeysAdmin, user_id: uuid.UUID, body: ExemptionIn | None = None
) -> None:
    """Keep every key of this user out of the key cleanup."""
    await service.exempt(session, actor=principal, user_id=user_id, reason=body.reason if body else None)


@router.delete("/admin/jobs/cleanup-keys/exemptions/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unexempt_user(session: Session, principal: KeysAdmin, user_id: uuid.UUID) -> None:
    await service.unexempt(session, actor=principal, user_id=user_id)


@router.put("/admin/jobs/cleanup-keys/exemptions/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def exempt_key(
    session: Session, principal: KeysAdmin, key_id: uuid.UUID, body: ExemptionIn | None = None
) -> None:
    """Keep this key out of the key cleanup."""
    await service.exempt(session, actor=principal, key_id=key_id, reason=body.reason if body else None)


@router.delete("/admin/jobs/cleanup-keys/exemptions/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unexempt_key(session: Session, principal: KeysAdmin, key_id: uuid.UUID) -> None:
    await service.unexempt(session, actor=principal, key_id=key_id)
