"""Incremental copying: a completed day is read once, today after the TTL, yesterday once more after
the grace period; refreshers in several processes do the work once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from fastapi import FastAPI

from litemaas.usage.refresh import RefreshPolicy
from litemaas.usage.repository import REFRESH_LOCK_ID, DayRecord
from tests.support.stack import api, db_rows
from tests.usage.support import add_to_litellm_daily, daily_row, random_hash, seed_litellm_daily, unused_day, usage_env


def _reads(app: FastAPI) -> int:
    """Upstream reads of LiteLLM's daily spend made by this app so far."""
    return int(app.state.litellm_daily_spend.reads)


def _sync_url(async_url: str) -> str:
    return async_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_a_completed_day_is_read_once_and_kept_until_a_rebuild(
    app: FastAPI, login: Any, litellm_stack: Any
) -> None:
    admin = api(await login(role="admin"))
    token, day = random_hash(), unused_day()
    seed_litellm_daily(litellm_stack.litellm_database_url, [daily_row(token, day, requests=4, spend=0.4)])
    body = {"start_date": day.isoformat(), "end_date": day.isoformat(), "keys": []}
    reads = _reads(app)

    first = (await admin.call("POST", "/admin/usage/analytics", 200, json=body)).json()
    # The day and the previous period's day are consecutive: one read for both.
    assert _reads(app) == reads + 1
    assert first["totals"]["requests"] >= 4

    add_to_litellm_daily(litellm_stack.litellm_database_url, token, day, requests=3, spend=0.3)
    for _ in range(3):
        again = (await admin.call("POST", "/admin/usage/analytics", 200, json=body)).json()
        assert again["totals"] == first["totals"]
    assert _reads(app) == reads + 1

    rebuild = {"start_date": day.isoformat(), "end_date": day.isoformat()}
    rebuilt = (await admin.call("POST", "/admin/usage/rebuild", 200, json=rebuild)).json()
    assert (rebuilt["days_fetched"], rebuilt["upstream_reads"]) == (1, 1)
    assert _reads(app) == reads + 2
    after = (await admin.call("POST", "/admin/usage/analytics", 200, json=body)).json()
    assert after["totals"]["requests"] == first["totals"]["requests"] + 3
    assert _reads(app) == reads + 2
    [(final, fetches)] = db_rows(
        app.state.settings.database_url, "SELECT final, fetches FROM usage_days WHERE day = %s", day
    )
    assert final and fetches == 2


async def test_today_is_read_again_once_its_copy_is_older_than_the_ttl(app: FastAPI, login: Any) -> None:
    admin = api(await login(role="admin"))
    await admin.call("POST", "/admin/usage/refresh", 200)
    today = datetime.now(UTC).date().isoformat()
    body = {"start_date": today, "end_date": today}
    reads = _reads(app)

    for _ in range(3):
        await admin.call("POST", "/admin/usage/analytics", 200, json=body)
    assert _reads(app) == reads  # within the TTL (60 s)

    # The copy ages past the TTL (moved back in the database instead of waiting a minute).
    db_rows(
        app.state.settings.database_url,
        "UPDATE usage_days SET fetched_at = fetched_at - interval '61 seconds' WHERE day = %s RETURNING day",
        date.fromisoformat(today),
    )
    await admin.call("POST", "/admin/usage/analytics", 200, json=body)
    assert _reads(app) == reads + 1
    await admin.call("POST", "/admin/usage/analytics", 200, json=body)
    assert _reads(app) == reads + 1


async def test_yesterday_is_read_once_more_after_the_grace_period(app: FastAPI, login: Any) -> None:
    admin = api(await login(role="admin"))
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    body = {"start_date": yesterday.isoformat(), "end_date": yesterday.isoformat()}
    await admin.call("POST", "/admin/usage/analytics", 200, json=body)
    # As if the last copy had been taken yesterday evening, before the day was over.
    evening = datetime.combine(yesterday, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
    db_rows(
        app.state.settings.database_url,
        "UPDATE usage_days SET fetched_at = %s, final = false WHERE day = %s RETURNING day",
        evening,
        yesterday,
    )
    reads = _reads(app)
    await admin.call("POST", "/admin/usage/analytics", 200, json=body)  # grace is 0 here: settled
    assert _reads(app) == reads + 1
    for _ in range(2):
        await admin.call("POST", "/admin/usage/analytics", 200, json=body)
    assert _reads(app) == reads + 1
    [(final,)] = db_rows(app.state.settings.database_url, "SELECT final FROM usage_days WHERE day = %s", yesterday)
    assert final


def test_refresh_rules() -> None:
    policy = RefreshPolicy(ttl=timedelta(seconds=60), grace=timedelta(minutes=15))
    day = date(2026, 3, 10)
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)

    def state(fetched: datetime, final: bool = False) -> DayRecord:
        return DayRecord(day, fetched, final, 0, 1, "")

    assert policy.needs_fetch(day, None, noon)
    assert not policy.needs_fetch(day + timedelta(days=1), None, noon)  # the future
    assert not policy.needs_fetch(day, state(noon - timedelta(seconds=59)), noon)
    assert policy.needs_fetch(day, state(noon - timedelta(seconds=60)), noon)
    after_midnight = datetime(2026, 3, 11, 0, 10, tzinfo=UTC)  # yesterday, within the grace period
    assert not policy.needs_fetch(day, state(after_midnight - timedelta(seconds=30)), after_midnight)
    assert policy.needs_fetch(day, state(after_midnight - timedelta(seconds=90)), after_midnight)
    settled = datetime(2026, 3, 11, 0, 15, tzinfo=UTC)
    assert policy.needs_fetch(day, state(settled - timedelta(seconds=1)), settled)  # once more
    assert policy.is_final(day, settled) and not policy.is_final(day, settled - timedelta(seconds=1))
    assert not policy.needs_fetch(day, state(settled, final=True), settled + timedelta(days=400))


def test_two_processes_refreshing_at_once_read_litellm_once(
    usage_server: Any, backend_database_url: str, litellm_stack: Any, redis_prefix: str, session_secret: str
) -> None:
    env = usage_env(backend_database_url, litellm_stack, redis_prefix, session_secret)
    command = [sys.executable, "-m", "litemaas.cli", "usage", "refresh", "--days", "1", "--json"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    today = datetime.now(UTC).date()
    url = _sync_url(backend_database_url)
    db_rows(
        backend_database_url,
        "UPDATE usage_days SET fetched_at = now() - interval '1 hour' WHERE day = %s RETURNING day",
        today,
    )

    with psycopg.connect(url, autocommit=True) as holder:
        # Both start while a third refresher holds the lock, so they truly run at the same time.
        holder.execute("SELECT pg_advisory_lock(%s)", (REFRESH_LOCK_ID,))
        procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        deadline = time.monotonic() + 60
        waiting = 0
        while time.monotonic() < deadline and waiting < 2:
            row = holder.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
            ).fetchone()
            waiting = int(row[0]) if row else 0
            time.sleep(0.1)
        assert waiting == 2, "both refreshers should be waiting for the lock"
        holder.execute("SELECT pg_advisory_unlock(%s)", (REFRESH_LOCK_ID,))
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    assert sorted(r["upstream_reads"] for r in reports) == [0, 1]
    assert sorted(r["days_fetched"] for r in reports) == [0, 1]
