"""Job runs (recorded by every job: reconcile, key cleanup, backup), their metrics, cleanup exemptions.

``record_run`` is the one way a job records itself::

    async with service.record_run(sessionmaker, "backup", triggered_by="cli") as run:
        ...                      # do the work
        run.counts["bytes"] = n  # figures shown in the console
        run.fail("...")          # optional: finish as failed without raising

The row is committed as ``running`` before the work starts (the console shows it), then finished
as ``succeeded`` or ``failed`` (an exception escaping the block fails the run and propagates).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.errors import LiteMaaSError
from litemaas.jobs import repository
from litemaas.jobs.errors import ExemptionNotFound, ExemptionTargetNotFound, JobRunNotFound
from litemaas.jobs.schemas import JOB_NAMES, ExemptionOut, JobRunOut, JobRunPage
from litemaas.litellm_admin import LiteLLMError
from litemaas.settings_admin import service as settings_admin

log = structlog.get_logger("litemaas.jobs")

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


def actor_label(actor: Actor) -> str:
    """How a run's trigger is shown: ``cli:cli``, ``session:alice``, ``token:ci (alice)``."""
    return f"{actor.via}:{actor.label}"[:255]


def error_text(exc: BaseException) -> str:
    """A run's error as stored and shown: our own messages (never secrets), else the type only."""
    if isinstance(exc, LiteMaaSError | LiteLLMError):
        return exc.message
    return type(exc).__name__


@dataclass(slots=True)
class RunHandle:
    id: uuid.UUID
    job: str
    dry_run: bool
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def fail(self, error: str) -> None:
        self.error = error


async def _finish(sessionmaker: async_sessionmaker[AsyncSession], run: RunHandle, status: str) -> None:
    try:
        async with sessionmaker() as session:
            await repository.finish_run(session, run.id, status=status, counts=run.counts, error=run.error)
            await session.commit()
    except (SQLAlchemyError, OSError) as exc:
        # The run stays "running"; metrics count only finished runs, so the alert still fires.
        log.warning("jobs.run.finish_failed", job=run.job, run_id=str(run.id), error_type=type(exc).__name__)


@asynccontextmanager
async def record_run(
    sessionmaker: async_sessionmaker[AsyncSession],
    job: str,
    *,
    triggered_by: str,
    triggered_by_id: uuid.UUID | None = None,
    dry_run: bool = False,
) -> AsyncIterator[RunHandle]:
    """Record one run of ``job`` in ``job_runs`` around the block (see the module docstring)."""
    async with sessionmaker() as session:
        row = await repository.insert_run(
            session, job=job, dry_run=dry_run, triggered_by=triggered_by[:255], triggered_by_id=triggered_by_id
        )
        await session.commit()
    run = RunHandle(row.id, job, dry_run)
    log.info("jobs.run.started", job=job, run_id=str(run.id), dry_run=dry_run)
    try:
        yield run
    except BaseException as exc:
        run.error = run.error or error_text(exc)
        await _finish(sessionmaker, run, FAILED)
        log.warning("jobs.run.failed", job=job, run_id=str(run.id), error=run.error)
        raise
    status = FAILED if run.error else SUCCEEDED
    await _finish(sessionmaker, run, status)
    log.info("jobs.run.finished", job=job, run_id=str(run.id), status=status, counts=run.counts)


async def list_runs(session: AsyncSession, *, job: str | None, limit: int, offset: int) -> JobRunPage:
    rows, total = await repository.list_runs(session, job=job, limit=limit, offset=offset)
    return JobRunPage(items=[JobRunOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


async def get_run(session: AsyncSession, run_id: uuid.UUID) -> JobRunOut:
    row = await repository.get_run(session, run_id)
    if row is None:
        raise JobRunNotFound()
    return JobRunOut.model_validate(row)


# --------------------------------------------------------------------------- metrics

_SUCCESS = "litemaas_job_last_success_timestamp_seconds"
_FAILED = "litemaas_job_last_run_failed"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def render_metrics(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    """Prometheus lines from ``job_runs`` (real runs only; dry runs change nothing).

    Every known job has both series: a job that never succeeded reports timestamp 0, so an
    "older than N days" alert fires for it too; a database outage leaves the series out.
    """
    try:
        async with sessionmaker() as session:
            success = await repository.last_success_times(session)
            statuses = await repository.last_finished_statuses(session)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("jobs.metrics.unavailable", error_type=type(exc).__name__)
        return ""
    jobs = sorted(set(JOB_NAMES) | set(success) | set(statuses))
    lines = [
        f"# HELP {_SUCCESS} When the job's latest successful run (not a dry run) finished, 0 if never.",
        f"# TYPE {_SUCCESS} gauge",
    ]
    lines += [
        f'{_SUCCESS}{{job="{_label(job)}"}} {success[job].timestamp() if job in success else 0.0!r}' for job in jobs
    ]
    lines += [
        f"# HELP {_FAILED} 1 when the job's latest finished run (not a dry run) failed, else 0.",
        f"# TYPE {_FAILED} gauge",
    ]
    lines += [f'{_FAILED}{{job="{_label(job)}"}} {1 if statuses.get(job) == FAILED else 0}' for job in jobs]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- key cleanup settings, exemptions


async def cleanup_max_age_days(session: AsyncSession, default: int) -> int:
    """The admin's setting, else the environment default (``LITEMAAS_KEY_CLEANUP_MAX_AGE_DAYS``)."""
    stored = await settings_admin.get_key_cleanup_settings(session)
    return stored.max_age_days or default


async def list_exemptions(session: AsyncSession) -> list[ExemptionOut]:
    return [
        ExemptionOut(
            id=e.id,
            kind="user" if e.user_id is not None else "key",
            user_id=e.user_id,
            key_id=e.key_id,
            username=username,
            key_alias=alias,
            reason=e.reason,
            created_at=e.created_at,
        )
        for e, username, alias in await repository.list_exemptions(session)
    ]


async def exempt(
    session: AsyncSession,
    *,
    actor: Actor,
    user_id: uuid.UUID | None = None,
    key_id: uuid.UUID | None = None,
    reason: str | None = None,
) -> None:
    """Keep a user's keys (or one key) out of the key cleanup; audited, idempotent."""
    if user_id is not None and not await repository.user_exists(session, user_id):
        raise ExemptionTargetNotFound("user", "user_id")
    if key_id is not None and not await repository.key_exists(session, key_id):
        raise ExemptionTargetNotFound("key", "key_id")
    added = await repository.add_exemption(
        session, user_id=user_id, key_id=key_id, reason=reason, created_by_id=actor.user_id
    )
    if added:
        await audit.record(
            session,
            actor=actor,
            action="key_cleanup.exempt",
            target_type="user" if user_id is not None else "api_key",
            target_id=user_id or key_id,
            after={"exempt": True},
            reason=reason,
        )


async def unexempt(
    session: AsyncSession, *, actor: Actor, user_id: uuid.UUID | None = None, key_id: uuid.UUID | None = None
) -> None:
    found = await repository.find_exemption(session, user_id=user_id, key_id=key_id)
    if found is None:
        raise ExemptionNotFound()
    await repository.delete_exemption(session, found)
    await audit.record(
        session,
        actor=actor,
        action="key_cleanup.unexempt",
        target_type="user" if user_id is not None else "api_key",
        target_id=user_id or key_id,
        before={"exempt": True},
        after={"exempt": False},
    )
