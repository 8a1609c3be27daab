"""`litemaas settings` / `audit export` / `models list|test-connection` and the typed client, against a running backend."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from typer.testing import CliRunner

from litemaas.cli import app as cli
from litemaas.client import LiteMaaSAPIError, LiteMaaSClient
from litemaas.config import get_settings
from tests.support.backend import REDIS_URL, free_port, unique


@pytest.fixture
def run_cli(backend_database_url, redis_prefix, monkeypatch):
    monkeypatch.setenv("LITEMAAS_DATABASE_URL", backend_database_url)
    monkeypatch.setenv("LITEMAAS_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("LITEMAAS_REDIS_KEY_PREFIX", redis_prefix)
    monkeypatch.setenv("LITEMAAS_ENVIRONMENT", "development")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    yield run
    get_settings.cache_clear()


def _admin_token(base_url: str, role: str = "admin") -> str:
    with httpx.Client(base_url=base_url, timeout=10) as browser:
        r = browser.post("/auth/dev", data={"username": unique("cli-admin"), "role": "admin"})
        assert r.status_code == 303, r.text
        browser.headers["X-CSRF-Token"] = browser.cookies["litemaas_csrf"]
        created = browser.post("/api/v1/admin/tokens", json={"name": unique("script"), "role": role})
        assert created.status_code == 201, created.text
        token: str = created.json()["token"]
        return token


def test_settings_commands_and_client(run_cli, backend_process):
    label = unique("C")[:16]
    shown_out = run_cli("settings", "set", "playground_rpm_limit=11", f"currency_label={label}").stdout
    assert json.loads(shown_out)["playground_rpm_limit"] == 11
    current = json.loads(run_cli("settings", "show").stdout)
    assert current["portal"]["effective"]["currency_label"] == label
    assert "api_keys" in current
    bad = run_cli("settings", "set", "public_proxy_url=ftp://x", code=2)
    assert "public_proxy_url" in bad.output

    with LiteMaaSClient(backend_process.url, _admin_token(backend_process.url)) as api:
        # The running server reads what the CLI stored.
        assert api.portal_settings()["effective"]["playground_rpm_limit"] == 11
        updated = api.set_portal_settings(playground_max_tokens=123)
        assert updated["effective"]["playground_max_tokens"] == 123
        # Everything not passed went back to the environment's values.
        assert updated["effective"]["playground_rpm_limit"] == updated["defaults"]["playground_rpm_limit"]
        with pytest.raises(LiteMaaSAPIError) as refused:
            api.set_portal_settings(playground_rpm_limit=0)
        assert refused.value.field == "playground_rpm_limit"
        keys = api.api_key_settings()
        assert api.set_api_key_settings(keys)["max_active_keys_per_user"] == keys["max_active_keys_per_user"]
        api.set_portal_settings()

    with LiteMaaSClient(backend_process.url, _admin_token(backend_process.url, "admin_readonly")) as readonly:
        assert "effective" in readonly.portal_settings()
        with pytest.raises(LiteMaaSAPIError) as forbidden:
            readonly.set_portal_settings(currency_label="GBP")
        assert forbidden.value.status == 403


def test_audit_export_command_and_client(run_cli, backend_process, tmp_path):
    marker = unique("audit-cli")[:16]
    run_cli("settings", "set", f"currency_label={marker}")
    out = tmp_path / "audit.csv"
    run_cli("audit", "export", "--since", "2020-01-01", "--q", marker, "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows and all(r["action"] == "settings.portal.update" for r in rows)
    assert any(marker in r["after"] for r in rows)
    bad = run_cli("audit", "export", "--since", "not-a-date", code=2)
    assert "since" in bad.output
    # A time without a zone is ambiguous: refused naming the option, not a traceback.
    naive = run_cli("audit", "export", "--until", "2030-01-01T10:00", code=2)
    assert "until" in naive.output and "timezone" in naive.output

    with LiteMaaSClient(backend_process.url, _admin_token(backend_process.url, "admin_readonly")) as api:
        written = api.export_audit_to(tmp_path / "client.csv", text=marker)
        assert written > 0
        client_rows = list(csv.DictReader(io.StringIO((tmp_path / "client.csv").read_text())))
        assert [r["action"] for r in client_rows] == [r["action"] for r in rows]
        event = api.audit_event(api.audit(action="settings.portal.update", limit=1)[0][0].id)
        assert event.action == "settings.portal.update"
    run_cli("settings", "set", "currency_label=")


def test_models_commands_and_client_without_litellm(run_cli, backend_process):
    listed = run_cli("models", "list", "--json").stdout
    assert isinstance(json.loads(listed), list)
    # Nothing listens on a free port of the simulator's host (allowed in development): unreachable, exit 1.
    down = run_cli("models", "test-connection", f"http://127.0.0.1:{free_port()}/v1", "m", code=1)
    assert down.stdout.strip() == "unreachable"
    refused = run_cli("models", "test-connection", "http://169.254.169.254/v1", "m", code=2)
    assert "refused" in refused.output

    with LiteMaaSClient(backend_process.url, _admin_token(backend_process.url)) as api:
        assert isinstance(api.list_models(), list)
        verdict = api.test_model_connection(f"http://127.0.0.1:{free_port()}/v1", "m")
        assert verdict["status"] == "unreachable"
        with pytest.raises(LiteMaaSAPIError) as refused_api:
            api.test_model_connection("http://169.254.169.254/v1", "m")
        assert refused_api.value.code == "url_refused" and refused_api.value.field == "api_base"
