"""``record_run`` (the API other jobs, such as backups, use) and the job metrics, on real PostgreSQL."""

from __future__ import annotations

import re
import uuid

import pytest

from litemaas.db import create_engine, create_sessionmaker
from litemaas.jobs.service import record_run, render_metrics
from tests.support.stack import db_rows

pytestmark = pytest.mark.asyncio


def _gauge(text: str, name: str, job: str) -> float:
    match = re.search(rf'^{name}\{{job="{re.escape(job)}"\}} (\S+)$', text, re.MULTILINE)
    assert match, f"{name}{{job={job}}} missing"
    return float(match.group(1))


async def test_runs_are_recorded_and_exposed_as_metrics(isolated_database_url: str) -> None:
    backend_database_url = isolated_database_url  # a database of this test alone: whole-table asserts hold
    engine = create_engine(backend_database_url, pool_size=2, max_overflow=0)
    sessionmaker = create_sessionmaker(engine)
    job = f"backup-test-{uuid.uuid4().hex[:6]}"
    try:
        async with record_run(sessionmaker, job, triggered_by="cli:test") as run:
            (row,) = db_rows(backend_database_url, "SELECT status, finished_at FROM job_runs WHERE id = %s", run.id)
            assert row == ("running", None)  # visible while it works
            run.counts["bytes"] = 1234
        text = await render_metrics(sessionmaker)
        first_success = _gauge(text, "litemaas_job_last_success_timestamp_seconds", job)
        assert first_success > 1.7e9 and _gauge(text, "litemaas_job_last_run_failed", job) == 0
        for known in ("reconcile", "cleanup-keys", "backup"):
            _gauge(text, "litemaas_job_last_run_failed", known)  # every known job has its series

        with pytest.raises(RuntimeError):
            async with record_run(sessionmaker, job, triggered_by="cli:test") as run:
                raise RuntimeError("password=hunter2 must not be stored")
        (row,) = db_rows(backend_database_url, "SELECT status, error FROM job_runs WHERE id = %s", run.id)
        assert row == ("failed", "RuntimeError")  # the type only: a foreign message may hold secrets
        text = await render_metrics(sessionmaker)
        assert _gauge(text, "litemaas_job_last_run_failed", job) == 1
        assert _gauge(text, "litemaas_job_last_success_timestamp_seconds", job) == first_success

        # A dry run changes nothing, so it moves neither gauge; run.fail() fails without raising.
        async with record_run(sessionmaker, job, triggered_by="cli:test", dry_run=True):
            pass
        assert _gauge(await render_metrics(sessionmaker), "litemaas_job_last_run_failed", job) == 1
        async with record_run(sessionmaker, job, triggered_by="cli:test") as run:
            run.fail("2 of 3 buckets unreachable")
        (row,) = db_rows(backend_database_url, "SELECT status, error FROM job_runs WHERE id = %s", run.id)
        assert row == ("failed", "2 of 3 buckets unreachable")
        # Alone in its database: the table holds exactly this test's four runs, and the metrics
        # carry the known jobs and this one, nothing else.
        assert db_rows(backend_database_url, "SELECT count(*), count(DISTINCT job) FROM job_runs") == [(4, 1)]
        series = set(re.findall(r'^litemaas_job_last_run_failed\{job="([^"]+)"\}', text, re.MULTILINE))
        assert series == {"reconcile", "cleanup-keys", "backup", job}, series
    finally:
        await engine.dispose()
