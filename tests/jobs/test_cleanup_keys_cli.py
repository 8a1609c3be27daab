"""``litemaas jobs cleanup-keys`` as a command: one line per key, one summary line, the run recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.stack import CHAT, api, db_rows, token_hash

pytestmark = pytest.mark.asyncio


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "litemaas.cli", "jobs", "cleanup-keys", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def test_cleanup_keys_cli(login: Any, litellm_stack: Any, litellm_admin: Any, backend_database_url: str) -> None:
    user = api(await login())
    await user.subscribe(CHAT)
    key = await user.create_key([CHAT], alias="cli-old")
    db_rows(
        backend_database_url,
        "UPDATE api_keys SET created_at = now() - interval '12 days' WHERE id = %s RETURNING id",
        key["id"],
    )
    env = {
        **os.environ,
        "LITEMAAS_DATABASE_URL": backend_database_url,
        "LITEMAAS_MASTER_KEY": litellm_stack.master_key,
        "LITEMAAS_PROXY_URL": litellm_stack.proxy_url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }

    default = _run(env, "--dry-run")  # 30 days: a 12-day-old key stays
    assert default.returncode == 0, default.stderr
    assert key["id"] not in default.stdout
    assert default.stdout.splitlines()[-1].startswith("cleanup-keys (dry run):")

    dry = _run(env, "--dry-run", "--max-age-days", "10")
    assert dry.returncode == 0, dry.stderr
    line = next(ln for ln in dry.stdout.splitlines() if key["id"] in ln)
    assert line.startswith("would") and "older than 10 days" in line
    assert await litellm_admin.key_exists(token_hash(key["key"]))

    run = _run(env, "--max-age-days", "10")
    assert run.returncode == 0, run.stderr
    line = next(ln for ln in run.stdout.splitlines() if key["id"] in ln)
    assert line.startswith("done")
    summary = run.stdout.splitlines()[-1]
    assert summary.startswith("cleanup-keys:") and "max age 10 days" in summary
    assert not await litellm_admin.key_exists(token_hash(key["key"]))
    assert key["key"] not in run.stdout + run.stderr + dry.stdout + dry.stderr
    runs = db_rows(
        backend_database_url,
        "SELECT status, dry_run, triggered_by FROM job_runs WHERE job = 'cleanup-keys' ORDER BY started_at DESC LIMIT 3",
    )
    assert runs == [("succeeded", False, "cli:cleanup-keys")] + [("succeeded", True, "cli:cleanup-keys")] * 2
