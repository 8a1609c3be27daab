"""``litemaas usage`` commands and the typed client's usage methods, against real processes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from litemaas.client import LiteMaaSAPIError, LiteMaaSClient
from tests.usage.support import daily_row, random_hash, seed_litellm_daily, unused_day, usage_env


@pytest.fixture
def seeded(litellm_stack: Any) -> dict[str, Any]:
    """Two days of a foreign key's usage on two models, in LiteLLM's table only."""
    start = unused_day()
    token = random_hash()
    seed_litellm_daily(
        litellm_stack.litellm_database_url,
        [
            daily_row(token, start, user_id="cli-owner", requests=3, spend=0.03),
            daily_row(token, start + timedelta(days=1), user_id="cli-owner", model="llama-scout-17b", requests=5),
        ],
    )
    return {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat(), "key": "external:" + token[:16]}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "litemaas.cli", "usage", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_rebuild_and_export(
    seeded: dict[str, Any],
    backend_database_url: str,
    litellm_stack: Any,
    redis_prefix: str,
    session_secret: str,
    tmp_path: Path,
) -> None:
    env = usage_env(backend_database_url, litellm_stack, redis_prefix, session_secret)
    rebuilt = _cli(env, "rebuild", "--from", seeded["start"], "--to", seeded["end"], "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    report = json.loads(rebuilt.stdout)
    assert (report["days_fetched"], report["upstream_reads"]) == (2, 1)

    exported = _cli(env, "export", "--from", seeded["start"], "--to", seeded["end"], "--key", seeded["key"])
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["date"], r["model"], r["requests"]) for r in rows] == [
        (seeded["start"], "granite-3-2-8b-instruct", "3"),
        (seeded["end"], "llama-scout-17b", "5"),
    ]
    target = tmp_path / "models.json"
    by_model = _cli(
        env, "export", "--from", seeded["start"], "--to", seeded["end"], "--key", seeded["key"],
        "--view", "models", "--format", "json", "--output", str(target),
    )  # fmt: skip
    assert by_model.returncode == 0, by_model.stderr
    assert sorted((r["model"], r["requests"]) for r in json.loads(target.read_text())) == [
        ("granite-3-2-8b-instruct", 3),
        ("llama-scout-17b", 5),
    ]

    bad = _cli(env, "rebuild", "--from", seeded["end"], "--to", seeded["start"])
    assert bad.returncode == 1 and "end_date" in bad.stderr
    unknown = _cli(env, "export", "--from", seeded["start"], "--to", seeded["end"], "--view", "everything")
    assert unknown.returncode == 2


def test_typed_client_reads_and_exports_usage(seeded: dict[str, Any], usage_server: Any, tmp_path: Path) -> None:
    with httpx.Client(base_url=usage_server.url) as browser:
        browser.post("/auth/dev", data={"username": f"usage-script-{seeded['start']}", "role": "admin"})
        browser.headers["X-CSRF-Token"] = browser.cookies["litemaas_csrf"]
        created = browser.post("/api/v1/admin/tokens", json={"name": "usage-reader", "role": "admin_readonly"})
        assert created.status_code == 201, created.text
    with LiteMaaSClient(usage_server.url, token=created.json()["token"]) as client:
        analytics = client.usage_analytics(seeded["start"], seeded["end"], keys=[seeded["key"]])
        assert analytics.totals.requests == 8
        assert [p.requests for p in analytics.daily] == [3, 5]
        assert analytics.by_key.items[0].status == "external"

        target = tmp_path / "usage.csv"
        written = client.export_usage_to(target, seeded["start"], seeded["end"], keys=[seeded["key"]], view="keys")
        assert written == target.stat().st_size
        [row] = list(csv.DictReader(io.StringIO(target.read_text())))
        assert (row["key"], row["requests"], row["litellm_user_id"]) == (seeded["key"], "8", "cli-owner")

        with pytest.raises(LiteMaaSAPIError) as refused:
            client.usage_analytics("2026-02-30", seeded["end"])
        assert (refused.value.status, refused.value.field) == (400, "start_date")
        with pytest.raises(LiteMaaSAPIError) as streamed_error:
            list(client.export_usage(seeded["start"], seeded["end"], keys=["external:zz"]))
        assert (streamed_error.value.status, streamed_error.value.field) == (400, "keys")
