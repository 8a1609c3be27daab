"""Keeping the usage cache in step with LiteLLM's daily spend, incrementally.

The rules, per day (UTC, LiteLLM's day):

- a day never fetched is fetched;
- while a day may still receive spend (today, and yesterday until the grace period after
  midnight has passed: LiteLLM writes spend in batches), it is fetched again once its copy is
  older than the TTL;
- the first fetch after the grace period makes the day final: it is never fetched again, except
  by a rebuild.

Every refresher — any backend replica, the CLI, the admin endpoint — takes one PostgreSQL advisory
lock per unit of work and decides what is stale *after* taking it, so when several refresh at
once the work is done once and the others find it done.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.db import session_scope
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMDailySpend, LiteLLMError
from litemaas.usage import repository
from litemaas.usage.errors import UsageSourceUnavailable

log = structlog.get_logger("litemaas.usage.refresh")

# Days fetched with one upstream read (and written in one transaction).
CHUNK_DAYS = 31
# A refresh that copied this many rows (a rebuild, a first fill) updates the planner's statistics.
ANALYZE_AFTER_ROWS = 100_000


def today(now: datetime) -> date:
    return now.astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    ttl: timedelta
    grace: timedelta
    wait_seconds: float = 30.0

    def settles_at(self, day: date) -> datetime:
        """When a day can no longer receive spend (its end plus the grace period)."""
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) + self.grace

    def is_final(self, day: date, fetched_at: datetime) -> bool:
        return fetched_at >= self.settles_at(day)

    def needs_fetch(self, day: date, state: repository.DayRecord | None, now: datetime) -> bool:
        if day > today(now):
            return False
        if state is None:
            return True
        if state.final:
            return False
        if now >= self.settles_at(day):
            return True
        return now - state.fetched_at >= self.ttl


@dataclass
class RefreshReport:
    start: date
    end: date
    days_fetched: int = 0
    upstream_reads: int = 0
    rows: int = 0
    attributed_rows: int = 0
    fetched: list[date] = field(default_factory=list)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _chunks(days: Sequence[date]) -> Iterator[list[date]]:
    """Runs of consecutive days, at most CHUNK_DAYS long."""
    chunk: list[date] = []
    for day in days:
        if chunk and (day - chunk[-1] != timedelta(days=1) or len(chunk) >= CHUNK_DAYS):
            yield chunk
            chunk = []
        chunk.append(day)
    if chunk:
        yield chunk


async def stale_days(
    sessionmaker: async_sessionmaker[AsyncSession], policy: RefreshPolicy, start: date, end: date, now: datetime
) -> list[date]:
    end = min(end, today(now))
    if end < start:
        return []
    async with sessionmaker() as session:
        states = await repository.day_states(session, start, end)
    return [d for d in _days(start, end) if policy.needs_fetch(d, states.get(d), now)]


async def refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    source: LiteLLMDailySpend | None,
    policy: RefreshPolicy,
    start: date,
    end: date,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> RefreshReport:
    """Fetch the stale days of ``start``..``end`` (every day up to today with ``force``)."""
    now = now or utcnow()
    report = RefreshReport(start, end)
    last = min(end, today(now))
    candidates = (
        _days(start, last)
        if force
        else await stale_days(sessionmaker, policy, start, last, now)
        if last >= start
        else []
    )
    if candidates and source is None:
        raise UsageSourceUnavailable("LiteLLM's daily spend is not configured (LITEMAAS_LITELLM_DATABASE_URL)")
    for chunk in _chunks(candidates):
        async with session_scope(sessionmaker) as session:
            await repository.take_refresh_lock(session, policy.wait_seconds)
            if await _refresh_chunk(session, source, policy, chunk, force=force, now=now, report=report):
                # Rows of hashes recorded for a LiteMaaS key since they were copied (rare: a key's
                # hash is recorded before LiteLLM can use it) are attributed with every fetch.
                report.attributed_rows += await repository.attribute_new_tokens(session)
    if report.rows >= ANALYZE_AFTER_ROWS:
        async with session_scope(sessionmaker) as session:
            await repository.analyze(session)
    if report.upstream_reads:
        log.info(
            "usage.refresh.done",
            start=start.isoformat(),
            end=end.isoformat(),
            days=report.days_fetched,
            reads=report.upstream_reads,
            rows=report.rows,
            force=force,
        )
    return report


async def _refresh_chunk(
    session: AsyncSession,
    source: LiteLLMDailySpend | None,
    policy: RefreshPolicy,
    chunk: list[date],
    *,
    force: bool,
    now: datetime,
    report: RefreshReport,
) -> bool:
    """Fetch and write the chunk's days that are (still) stale; False when none was."""
    if source is None:
        raise RuntimeError("invariant broken: source is not None")
    # Decided again under the lock: another refresher may have fetched these days meanwhile.
    states = await repository.day_states(session, chunk[0], chunk[-1])
    todo = chunk if force else [d for d in chunk if policy.needs_fetch(d, states.get(d), now)]
    if not todo:
        return False
    try:
        report.rows += await repository.stage_rows(session, source.rows(todo[0], todo[-1]))
    except LiteLLMError as exc:
        raise UsageSourceUnavailable(f"LiteLLM's daily spend could not be read: {exc.message}") from None
    report.upstream_reads += 1
    # The decision time, not the time the read ended: a copy is never taken for fresher than it is.
    fetched_at = now
    staged = await repository.staged_fingerprints(session)
    outcomes: list[tuple[date, int, str, bool, bool]] = []
    changed: list[date] = []
    for day in todo:
        rows, fingerprint = staged.get(day, (0, "0"))
        previous = states.get(day)
        is_changed = force or previous is None or previous.fingerprint != fingerprint
        if is_changed:
            changed.append(day)
        outcomes.append((day, rows, fingerprint, policy.is_final(day, fetched_at), is_changed))
    await repository.replace_days(session, changed)
    await repository.save_day_states(session, outcomes, fetched_at)
    report.days_fetched += len(todo)
    report.fetched.extend(todo)
    return True
