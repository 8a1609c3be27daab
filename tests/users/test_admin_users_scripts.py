"""The scripting surface for users against a running backend and the real proxy: the typed client
(admin API token over HTTP), the `litemaas users ...` / `litemaas keys create-for` commands, and
the README's "Admin scripts" example run as written."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from litemaas.cli import app as cli
from litemaas.client import LiteMaaSAPIError, LiteMaaSClient
from litemaas.config import Settings, get_settings
from tests.support.backend import REDIS_URL, free_port, http_login
from tests.support.stack import CHAT, GUARD, chat, sdk, stack_settings
from tests.web.portal_support import serve_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(settings: Settings, litellm_stack: Any) -> Iterator[str]:
    """The backend over real HTTP, wired to the session's proxy, with the demo catalog synced."""
    from litemaas.app import create_app

    app = create_app(stack_settings(settings, litellm_stack), configure_logs=False)
    with serve_app(app, free_port()) as url:
        with closing(http_login(url, f"sync-{uuid.uuid4().hex[:6]}", "admin")) as admin:
            assert admin.post("/api/v1/admin/models/sync").status_code == 200
        yield url


@pytest.fixture
def cli_env(
    settings: Settings, litellm_stack: Any, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "LITEMAAS_DATABASE_URL": str(settings.database_url),
        "LITEMAAS_REDIS_URL": REDIS_URL,
        "LITEMAAS_REDIS_KEY_PREFIX": redis_prefix,
        "LITEMAAS_PROXY_URL": litellm_stack.proxy_url,
        "LITEMAAS_MASTER_KEY": litellm_stack.master_key,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def _run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


async def _arun(*args: str, code: int = 0) -> Any:
    """``_run`` off the event loop: the commands call ``asyncio.run`` themselves."""
    return await asyncio.to_thread(_run, *args, code=code)


def test_typed_client_covers_the_user_admin_actions(served: str, litellm_stack: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    target = f"target-{uuid.uuid4().hex[:6]}"
    with closing(http_login(served, owner, "admin")) as admin, closing(http_login(served, target)) as target_browser:
        user_id = target_browser.get("/api/v1/auth/me").json()["user_id"]
        token = admin.post("/api/v1/admin/tokens", json={"name": f"ops-{owner}", "role": "admin"}).json()["token"]

    with LiteMaaSClient(served, token) as api:
        users, total = api.list_users(search=target, provider="dev")
        assert total == 1 and str(users[0].id) == user_id
        assert api.list_users(search=target, provider="oidc")[1] == 0

        limits = api.set_user_limits(user_id, max_budget=50.0, budget_duration="30d", tpm_limit=9000, rpm_limit=90)
        assert limits.tpm_limit == 9000 and api.get_user_limits(user_id).rpm_limit == 90

        granted = api.grant_subscription(user_id, GUARD, reason="pilot")
        assert granted.status == "active" and granted.status_reason == "pilot"
        assert api.grant_subscription(user_id, GUARD).status == "active"  # idempotent
        with pytest.raises(LiteMaaSAPIError) as unknown:
            api.grant_subscription(user_id, "no-such-model")
        assert unknown.value.status == 404

        created = api.create_key_for(user_id, "from-script", [GUARD])
        assert created.key.startswith("sk-")
        assert {k.alias for k in api.list_keys(user_id=user_id)} == {"from-script"}
        assert api.update_key(created.id, rpm_limit=7).rpm_limit == 7
        rotated = api.rotate_key(created.id)
        assert rotated.key != created.key
        assert api.reset_key_spend(created.id).status == "active"
        assert api.revoke_key(created.id, reason="done").status == "revoked"
        assert api.reset_user_spend(user_id).spend == 0

        before = api.user_defaults()
        try:
            assert api.set_user_defaults(rpm_limit=123, tpm_limit=None).rpm_limit == 123
            result = api.apply_user_defaults(reason="script")
            assert result.completed and any(r["user_id"] == user_id for r in result.results)
            assert api.get_user_limits(user_id).rpm_limit == 123
        finally:
            api.set_user_defaults(**before.model_dump())


@pytest.mark.asyncio
async def test_cli_users_commands(login: Any, cli_env: dict[str, str], litellm_admin: Any) -> None:
    username = f"cli-{uuid.uuid4().hex[:6]}"
    user = await login(username)
    user_id = (await user.get("/api/v1/auth/me")).json()["user_id"]

    shown = (await _arun("users", "show", username)).output
    assert f"id:          {user_id}" in shown and "manual -, from groups -" in shown

    out = (await _arun("users", "limits", "set", username, "--tpm", "4444", "--rpm", "44")).output
    assert "tpm_limit=4444" in out and "rpm_limit=44" in out
    info = await litellm_admin.user_info(user_id)
    assert (info.tpm_limit, info.rpm_limit) == (4444, 44)
    # The other limits stayed; --clear removes one.
    await _arun("users", "limits", "set", username, "--clear", "rpm_limit")
    assert (await litellm_admin.user_info(user_id)).rpm_limit is None
    bad = await _arun("users", "limits", "set", username, "--budget-duration", "soon", code=1)
    assert "duration" in bad.output

    before = (await _arun("users", "defaults", "get")).output
    try:
        assert "rpm_limit: 77" in (await _arun("users", "defaults", "set", "--rpm", "77")).output
        refused = await _arun("users", "apply-defaults", code=2)
        assert "--yes" in refused.output
        applied = (await _arun("users", "apply-defaults", "--yes", "--reason", "cli test")).output
        assert f"{username}: applied" in applied
        assert (await litellm_admin.user_info(user_id)).rpm_limit == 77
        again = (await _arun("users", "apply-defaults", "--yes")).output
        assert f"{username}: unchanged" in again and "applied 0" in again
    finally:
        values = dict(line.split(": ", 1) for line in before.strip().splitlines())
        args = [
            ["--max-budget", values["max_budget"]],
            ["--budget-duration", values["budget_duration"]],
            ["--tpm", values["tpm_limit"]],
            ["--rpm", values["rpm_limit"]],
            ["--max-keys", values["max_active_keys"]],
        ]
        flat = [a for pair in args if pair[1] != "-" for a in pair]
        clears = [
            a
            for name, pair in zip(
                ("max_budget", "budget_duration", "tpm_limit", "rpm_limit", "max_active_keys"), args, strict=True
            )
            if pair[1] == "-"
            for a in ("--clear", name)
        ]
        await _arun("users", "defaults", "set", *flat, *clears)


def _readme_script() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- admin-script: keys-csv -->\n```bash\n(.*?)```", text, re.S)
    assert match, "README lost its admin-script example"
    return match.group(1)


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.asyncio
async def test_readme_keys_csv_example_runs_as_written(
    login: Any, cli_env: dict[str, str], litellm_stack: Any, tmp_path: Path
) -> None:
    script = _readme_script()
    for name in ("alice", "bob"):
        await login(name)
    env = {**os.environ, **cli_env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = await asyncio.to_thread(_bash, script, tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    keys_csv = tmp_path / "keys.csv"
    assert stat.S_IMODE(keys_csv.stat().st_mode) == 0o600
    import csv

    with keys_csv.open(encoding="utf-8") as written:
        rows = list(csv.DictReader(written))
    assert [r["username"] for r in rows] == ["alice", "bob"]
    for row in rows:
        assert row["key"].startswith("sk-") and row["key"] not in done.stdout + done.stderr
        assert row["models"] == CHAT
    reply = await chat(sdk(litellm_stack, rows[0]["key"]), model=CHAT)
    assert reply.choices
    # Never overwritten: running it again refuses the existing file and creates nothing.
    again = await asyncio.to_thread(_bash, script, tmp_path, env)
    assert again.returncode == 2 and "exists" in again.stdout + again.stderr
