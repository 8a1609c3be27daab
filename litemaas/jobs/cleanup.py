"""Key cleanup (SPEC §10): LiteMaaS-issued keys that are expired or older than the limit are deleted.

For every active key of ours:

- expired (``expires_at`` passed) or older than ``max_age_days`` (age of the current secret:
  since its last rotation, else its creation) → deleted in LiteLLM, then marked revoked here
  with the reason;
- gone from LiteLLM → marked revoked here ("deleted in LiteLLM");
- exempt (its owner or the key itself, set by an admin) → kept, even when due;
- the playground's internal key (purpose "playground") → the age limit does not apply: its
  secret never leaves the backend (derived per call, rotated with the master key), and deleting
  it would only make the next playground call create it again. It is still deleted when expired
  and marked revoked when gone from LiteLLM (the playground then creates a new one).

Each key is handled in its own transaction under its owner's key lock, after re-reading the
row (and, for a key seen missing, asking LiteLLM again): LiteLLM first, then our row, then
commit. So two overlapping runs never handle a key twice (the second finds it revoked and skips
it), and an outage leaves every key either fully handled or untouched; the run then stops and is
recorded as failed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.access import service as access
from litemaas.api_keys import service as keys_service
from litemaas.audit.service import Actor
from litemaas.errors import LiteMaaSError, UpstreamUnavailable
from litemaas.events import service as events_service
from litemaas.jobs import repository, service
from litemaas.jobs.repository import CleanupRow
from litemaas.jobs.schemas import CleanupItemOut, CleanupReportOut
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMAdminClient, LiteLLMError, LiteLLMUnavailable
from litemaas.upstream import upstream_error

JOB = "cleanup-keys"
PLAYGROUND = "playground"
REASON_GONE = "deleted in LiteLLM"

log = structlog.get_logger("litemaas.jobs.cleanup")


@dataclass(slots=True)
class Item:
    key_id: uuid.UUID
    user_id: uuid.UUID
    username: str
    alias: str
    purpose: str
    action: str  # "delete" | "mark_revoked"
    reason: str
    applied: bool = False


@dataclass(slots=True)
class CleanupReport:
    dry_run: bool
    max_age_days: int
    run_id: uuid.UUID | None = None
    items: list[Item] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)
    checked: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: LiteLLMUnavailable | None = None

    def count(self, action: str) -> int:
        return sum(1 for i in self.items if i.action == action and (i.applied or self.dry_run))

    @property
    def counts(self) -> dict[str, int]:
        return {
            "deleted": self.count("delete"),
            "marked_revoked": self.count("mark_revoked"),
            "kept_exempt": self.kept["exempt"],
            "kept_playground": self.kept["playground"],
            "checked": self.checked,
            "errors": len(self.errors),
        }

    @property
    def summary(self) -> str:
        c = self.counts
        if self.dry_run:
            done = f"{c['deleted']} would be deleted, {c['marked_revoked']} would be marked revoked (gone in LiteLLM)"
        else:
            done = f"{c['deleted']} deleted, {c['marked_revoked']} marked revoked (gone in LiteLLM)"
        return (
            f"{JOB}{' (dry run)' if self.dry_run else ''}: {done}, {c['kept_exempt']} kept (exempt), "
            f"{c['kept_playground']} playground key(s) kept, {c['checked']} active key(s) checked, "
            f"max age {self.max_age_days} days, {c['errors']} error(s)"
        )

    def out(self) -> CleanupReportOut:
        return CleanupReportOut(
            run_id=self.run_id,
            dry_run=self.dry_run,
            max_age_days=self.max_age_days,
            summary=self.summary,
            counts=self.counts,
            items=[
                CleanupItemOut(
                    key_id=i.key_id,
                    user_id=i.user_id,
                    username=i.username,
                    alias=i.alias,
                    purpose=i.purpose,
                    action="delete" if i.action == "delete" else "mark_revoked",
                    reason=i.reason,
                    applied=i.applied,
                )
                for i in self.items
            ],
            errors=self.errors,
        )

    def lines(self) -> list[str]:
        """One line per key, for the command's output."""
        verb = {"delete": "delete", "mark_revoked": "mark revoked"}
        result = []
        for i in self.items:
            mark = "done" if i.applied else ("would" if self.dry_run else "skipped")
            result.append(f"{mark:7} {verb[i.action]:13} key {i.key_id} ({i.username}/{i.alias})  {i.reason}")
        return result


def _due(row: CleanupRow, now: datetime, cutoff: datetime, max_age_days: int) -> str | None:
    """Why the key must go (or ``None``), exemptions aside."""
    key = row.key
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    issued = key.rotated_at or key.created_at
    if key.purpose != PLAYGROUND and issued <= cutoff:
        return f"older than {max_age_days} days"
    return None


def _plan(
    rows: list[CleanupRow], live: set[str] | None, now: datetime, max_age_days: int, report: CleanupReport | None
) -> dict[uuid.UUID, tuple[str, str]]:
    """key id → (action, reason); counts kept keys into ``report`` when given."""
    cutoff = now - timedelta(days=max_age_days)
    plan: dict[uuid.UUID, tuple[str, str]] = {}
    for row in rows:
        if live is not None and row.key.token_hash not in live:
            plan[row.key.id] = ("mark_revoked", REASON_GONE)
            continue
        reason = _due(row, now, cutoff, max_age_days)
        if reason is None:
            if report is not None and row.key.purpose == PLAYGROUND:
                issued = row.key.rotated_at or row.key.created_at
                if issued <= cutoff:
                    report.kept["playground"] += 1
            continue
        if row.user_exempt or row.key_exempt:
            if report is not None:
                report.kept["exempt"] += 1
            continue
        plan[row.key.id] = ("delete", reason)
    return plan


async def _handle(
    session: AsyncSession, litellm: LiteLLMAdminClient, actor: Actor, item: Item, max_age_days: int
) -> bool:
    """Handle one key under its owner's lock; ``False`` when it no longer needs it (another run, a change)."""
    await access.lock_user(session, item.user_id)
    fresh = [r for r in await repository.cleanup_candidates(session, [item.user_id]) if r.key.id == item.key_id]
    if not fresh:
        return False  # revoked meanwhile (by another run, the owner, reconcile)
    row = fresh[0]
    if item.action == "mark_revoked":
        if await litellm.key_exists(row.key.token_hash):
            return False  # created after the listing, or restored: not gone
        await keys_service.mark_revoked_by_system(session, actor=actor, key=row.key, reason=REASON_GONE)
        return True
    decision = _plan([row], None, utcnow(), max_age_days, None).get(row.key.id)
    if decision is None:
        return False  # exempted, rotated or changed meanwhile
    item.reason = decision[1]
    await litellm.delete_key(row.key.token_hash)  # a key LiteLLM no longer has counts as deleted
    await keys_service.mark_revoked_by_system(session, actor=actor, key=row.key, reason=f"key cleanup: {item.reason}")
    return True


async def _cleanup(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    report: CleanupReport,
) -> None:
    # LiteLLM's keys first, then ours: a key created in between is seen here, not there, and
    # is re-checked before anything is done to it.
    live = {k.token async for k in litellm.iter_keys() if k.token}
    async with sessionmaker() as session:
        rows = await repository.cleanup_candidates(session)
    report.checked = len(rows)
    plan = _plan(rows, live, utcnow(), report.max_age_days, report)
    by_id = {r.key.id: r for r in rows}
    for key_id, (action, reason) in plan.items():
        row = by_id[key_id]
        report.items.append(Item(key_id, row.key.user_id, row.username, row.key.alias, row.key.purpose, action, reason))
    if report.dry_run:
        return
    for item in report.items:
        async with sessionmaker() as session:
            try:
                item.applied = await _handle(session, litellm, actor, item, report.max_age_days)
                await session.commit()
            except LiteLLMUnavailable as exc:
                await session.rollback()
                report.errors.append(f"key {item.key_id}: {exc.message}")
                report.stopped = exc
                return  # the rest would only wait for the same outage; they stay untouched
            except (LiteLLMError, LiteMaaSError) as exc:
                await session.rollback()
                report.errors.append(f"key {item.key_id}: {exc.message}")


async def cleanup_keys(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    default_max_age_days: int,
    dry_run: bool = False,
    max_age_days: int | None = None,
) -> CleanupReport:
    """Run the key cleanup once, recorded in ``job_runs``.

    Listing LiteLLM's keys failing raises (``LiteLLMError``) with the run recorded as failed; an
    outage later stops the run (``report.stopped``), also recorded as failed.
    """
    if max_age_days is None:
        async with sessionmaker() as session:
            max_age_days = await service.cleanup_max_age_days(session, default_max_age_days)
    report = CleanupReport(dry_run=dry_run, max_age_days=max_age_days)
    async with service.record_run(
        sessionmaker, JOB, triggered_by=service.actor_label(actor), triggered_by_id=actor.user_id, dry_run=dry_run
    ) as run:
        report.run_id = run.id
        events_closed = 0
        try:
            await _cleanup(sessionmaker, litellm, actor=actor, report=report)
            if not dry_run and report.stopped is None:
                events_closed = await _close_due_events(sessionmaker, litellm, actor=actor, report=report)
        finally:
            run.counts = dict(report.counts) | ({"events_closed": events_closed} if events_closed else {})
        if report.errors:
            run.fail("; ".join(report.errors)[:2000])
    log.info("jobs.cleanup.done", summary=report.summary)
    return report


async def _close_due_events(
    sessionmaker: async_sessionmaker[AsyncSession], litellm: LiteLLMAdminClient, *, actor: Actor, report: CleanupReport
) -> int:
    """Workshop events whose end has passed: their keys expired at LiteLLM; end their seats and grants.

    Each event in its own transaction: one that LiteLLM cannot close now is retried next run and
    does not hold back the others.
    """
    async with sessionmaker() as session:
        due = await events_service.due_event_ids(session)
    closed = 0
    for event_id in due:
        try:
            async with sessionmaker() as session:
                await events_service.end_event(
                    session, litellm, actor=actor, event_id=event_id, reason="reached its end"
                )
                await session.commit()
            closed += 1
        except LiteMaaSError as exc:
            report.errors.append(f"closing ended event {event_id}: {exc.message}")
    if closed:
        log.info("jobs.cleanup.events_closed", events=closed)
    return closed


async def run_cleanup(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    default_max_age_days: int,
    dry_run: bool,
    max_age_days: int | None,
) -> CleanupReportOut:
    """The key cleanup for the API and the portal (one code path): an outage is a 503."""
    try:
        report = await cleanup_keys(
            sessionmaker,
            litellm,
            actor=actor,
            default_max_age_days=default_max_age_days,
            dry_run=dry_run,
            max_age_days=max_age_days,
        )
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    if report.stopped is not None:
        done = sum(1 for i in report.items if i.applied)
        raise UpstreamUnavailable(
            f"LiteLLM became unavailable during the key cleanup: {done} key(s) were handled, the others are "
            f"untouched; run {report.run_id} is recorded as failed, run it again shortly"
        )
    return report.out()
