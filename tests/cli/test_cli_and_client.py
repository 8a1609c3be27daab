"""`litemaas users` / `litemaas tokens` and the typed admin client, against a running backend."""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from litemaas.cli import app as cli
from litemaas.client import LiteMaaSAPIError, LiteMaaSClient
from litemaas.config import get_settings
from tests.support.backend import REDIS_URL, http_login, unique


@pytest.fixture
def run_cli(backend_database_url, redis_prefix, monkeypatch):
    monkeypatch.setenv("LITEMAAS_DATABASE_URL", backend_database_url)
    monkeypatch.setenv("LITEMAAS_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("LITEMAAS_REDIS_KEY_PREFIX", redis_prefix)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield run
    get_settings.cache_clear()


def test_users_commands_work_on_existing_users_only(run_cli, backend_process):
    username = unique("cli")
    browser = http_login(backend_process.url, username)
    assert browser.get("/api/v1/admin/users").status_code == 403

    missing = run_cli("users", "promote", unique("ghost"), ok=False)
    assert missing.exit_code == 1 and "no user" in missing.output

    assert "role admin (manual admin)" in run_cli("users", "promote", username, "--reason", "ops").output
    # Applies at once in the running server (cache invalidated through Redis).
    assert browser.get("/api/v1/admin/users").status_code == 200
    listed = run_cli("users", "list", "--search", username).output
    assert username in listed and "1 user(s)" in listed

    assert "role user" in run_cli("users", "demote", username).output
    assert browser.get("/api/v1/admin/users").status_code == 403

    run_cli("users", "deactivate", username)
    assert browser.get("/api/v1/auth/me").status_code == 401
    again = httpx.post(backend_process.url + "/auth/dev", data={"username": username})
    assert again.headers["location"] == "/login?error=account_deactivated"
    run_cli("users", "activate", username)
    browser.close()


def test_tokens_and_typed_client(run_cli, backend_process):
    owner = unique("owner")
    http_login(backend_process.url, owner, "admin").close()
    target = unique("target")
    http_login(backend_process.url, target).close()

    created = run_cli("tokens", "create", "nightly-report", "--owner", owner, "--role", "admin", "--days", "7")
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("lmt_")

    with LiteMaaSClient(backend_process.url, secret) as api:
        me = api.me()
        assert me.username == owner and me.via == "token" and me.role == "admin"
        users, total = api.list_users(search=target)
        assert total == 1 and users[0].username == target
        updated = api.set_role(users[0].id, "admin_readonly", reason="report reader")
        assert updated.role == "admin_readonly" and updated.manual_role == "admin_readonly"
        events, _ = api.audit(target_id=str(users[0].id), action="user.role.change")
        assert events[0].actor_label == f"token:nightly-report ({owner})" and events[0].reason == "report reader"
        assert any(u.username == target for u in api.iter_users(search=target))
        with pytest.raises(LiteMaaSAPIError) as denied:
            api.set_role("00000000-0000-0000-0000-000000000000", "admin")
        assert denied.value.status == 404 and denied.value.code == "not_found"

        listed = run_cli("tokens", "list").output
        assert "nightly-report" in listed and secret not in listed and secret[:8] in listed
        run_cli("tokens", "revoke", "nightly-report")
        with pytest.raises(LiteMaaSAPIError) as revoked:
            api.me()
        assert revoked.value.status == 401


def _audit_since(browser: httpx.Client, action: str, since: datetime) -> list[dict]:
    r = browser.get("/api/v1/admin/audit", params={"action": action, "since": since.isoformat(), "limit": 100})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_tokens_list_is_audited_as_the_cli_operator(run_cli, backend_process):
    """SPEC §2: who looked at the token inventory is audited, from the CLI as from the API."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    with closing(http_login(backend_process.url, unique("auditor"), "admin")) as admin:
        seen = {e["id"] for e in _audit_since(admin, "admin_token.list", since)}
        run_cli("tokens", "list", "--all")
        events = [e for e in _audit_since(admin, "admin_token.list", since) if e["id"] not in seen]
    assert len(events) == 1, events
    assert events[0]["actor_via"] == "cli"
    assert events[0]["actor_label"].startswith("cli:") and events[0]["actor_id"] is None
    assert events[0]["target_type"] == "admin_token" and events[0]["after"]["include_revoked"] is True
    assert isinstance(events[0]["after"]["count"], int)


def test_tokens_create_defaults_to_the_configured_expiry(run_cli, backend_process, monkeypatch):
    owner = unique("owner")
    http_login(backend_process.url, owner, "admin").close()
    monkeypatch.setenv("LITEMAAS_ADMIN_TOKEN_DEFAULT_DAYS", "5")
    get_settings.cache_clear()
    name = unique("default-expiry")
    run_cli("tokens", "create", name, "--owner", owner, "--role", "admin_readonly")
    with closing(http_login(backend_process.url, owner, "admin")) as admin:
        row = next(t for t in admin.get("/api/v1/admin/tokens").json() if t["name"] == name)
    expires_in = datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["created_at"])
    assert abs(expires_in - timedelta(days=5)) < timedelta(minutes=1), expires_in


def test_tokens_create_offers_only_token_roles(run_cli):
    refused = run_cli("tokens", "create", "x", "--owner", "anyone", "--role", "user", ok=False)
    assert refused.exit_code == 2, refused.output
    assert "Invalid value for '--role'" in refused.output and "admin_readonly" in refused.output


def test_commands_name_the_settings_they_miss(run_cli, monkeypatch):
    # The job commands send logs to (the runner's) stderr: keep that handler out of later tests.
    monkeypatch.setattr(logging.getLogger(), "handlers", list(logging.getLogger().handlers))
    monkeypatch.delenv("LITEMAAS_MASTER_KEY", raising=False)
    get_settings.cache_clear()
    reconcile = run_cli("reconcile", "--dry-run", ok=False)
    assert reconcile.exit_code == 2
    assert "this command cannot start; not set: LITEMAAS_MASTER_KEY (LiteLLM master key" in reconcile.output

    monkeypatch.delenv("LITEMAAS_DATABASE_URL")
    get_settings.cache_clear()
    listing = run_cli("users", "list", ok=False)
    assert listing.exit_code == 2 and "LITEMAAS_DATABASE_URL (LiteMaaS database" in listing.output
    serve = run_cli("serve", ok=False)
    assert serve.exit_code == 2
    assert "the LiteMaaS backend cannot start; not set: LITEMAAS_DATABASE_URL" in serve.output
