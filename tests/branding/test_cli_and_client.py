"""`litemaas banners list|create|delete` and the typed client's branding and banner methods, against a
running backend (its own process, the session's database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from litemaas.cli import app as cli
from litemaas.client import LiteMaaSAPIError, LiteMaaSClient
from litemaas.config import get_settings
from tests.branding.support import BENIGN_LOGO, HOSTILE_SVGS, raster
from tests.support.backend import REDIS_URL, unique


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


def _token(base_url: str, role: str = "admin") -> str:
    with httpx.Client(base_url=base_url, timeout=10) as browser:
        r = browser.post("/auth/dev", data={"username": unique("brand-admin"), "role": "admin"})
        assert r.status_code == 303, r.text
        browser.headers["X-CSRF-Token"] = browser.cookies["litemaas_csrf"]
        created = browser.post("/api/v1/admin/tokens", json={"name": unique("script"), "role": role})
        assert created.status_code == 201, created.text
        token: str = created.json()["token"]
        return token


def test_banner_commands_and_client(run_cli, backend_process):
    message = unique("Maintenance")
    end = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    created = json.loads(
        run_cli(
            "banners",
            "create",
            f"**{message}** tonight",
            "--markdown",
            "--severity",
            "warning",
            "--link",
            "https://status.example.com",
            "--end",
            end,
            "--role",
            "user",
            "--role",
            "admin",
        ).stdout
    )
    assert created["message_html"].startswith(f"<strong>{message}</strong>")
    assert created["target_roles"] == ["user", "admin"] and created["status"] == "active"
    assert created["ends_at"].startswith(end)  # a time without a zone is UTC
    listed = json.loads(run_cli("banners", "list").stdout)
    assert created["id"] in [b["id"] for b in listed]

    bad_role = run_cli("banners", "create", "x", "--role", "root", code=2)
    assert "target_roles" in bad_role.output
    bad_link = run_cli("banners", "create", "x", "--link", "javascript:alert(1)", code=2)
    assert "link_url" in bad_link.output
    bad_window = run_cli("banners", "create", "x", "--start", "2030-01-02", "--end", "2030-01-01", code=2)
    assert "ends_at" in bad_window.output

    with LiteMaaSClient(backend_process.url, _token(backend_process.url)) as api:
        # The running server serves what the CLI stored (the admin API reads the database directly).
        assert created["id"] in [b["id"] for b in api.list_banners()]
        assert created["id"] in [b["id"] for b in api.my_banners()]
        second = api.create_banner("Second", severity="info", ends_at=datetime.now(UTC) + timedelta(hours=2))
        reordered = api.reorder_banners([second["id"], created["id"]])
        ours = [b["id"] for b in reordered if b["id"] in (second["id"], created["id"])]
        assert ours == [second["id"], created["id"]]
        edited = api.update_banner(second["id"], "Second, edited", severity="success")
        assert edited["severity"] == "success"
        with pytest.raises(LiteMaaSAPIError) as refused:
            api.create_banner("x", starts_at="2030-01-02T00:00:00Z", ends_at="2030-01-01T00:00:00Z")
        assert (refused.value.status, refused.value.field) == (400, "ends_at")
        api.delete_banner(second["id"])

    with LiteMaaSClient(backend_process.url, _token(backend_process.url, "admin_readonly")) as readonly:
        assert created["id"] in [b["id"] for b in readonly.list_banners()]
        with pytest.raises(LiteMaaSAPIError) as forbidden:
            readonly.delete_banner(created["id"])
        assert forbidden.value.status == 403

    assert run_cli("banners", "delete", created["id"]).stdout.strip() == f"deleted {created['id']}"
    assert created["id"] not in [b["id"] for b in json.loads(run_cli("banners", "list").stdout)]
    missing = run_cli("banners", "delete", created["id"], code=1)
    assert "no banner" in missing.output


def test_branding_client(backend_process, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_bytes(BENIGN_LOGO)
    with LiteMaaSClient(backend_process.url, _token(backend_process.url)) as api:
        try:
            texts = api.set_branding(title="Scripted", subtitle="From a script")
            assert (texts["title"], texts["footer_text"]) == ("Scripted", None)
            stored = api.upload_branding_image("login_logo", logo)
            assert stored["content_type"] == "image/svg+xml"
            png = api.upload_branding_image("logo_light", raster("PNG"))
            assert png["content_type"] == "image/png"
            current = api.branding()
            assert current["images"]["login_logo"]["sha256"] == stored["sha256"]
            served = httpx.get(backend_process.url + current["images"]["login_logo"]["url"], timeout=10)
            assert served.headers["content-type"] == "image/svg+xml"
            assert served.headers["x-content-type-options"] == "nosniff"
            with pytest.raises(LiteMaaSAPIError) as refused:
                api.upload_branding_image("logo_dark", HOSTILE_SVGS["script"], content_type="image/svg+xml")
            assert (refused.value.status, refused.value.code, refused.value.field) == (400, "svg_refused", "image")
            with pytest.raises(LiteMaaSAPIError) as mislabelled:
                api.upload_branding_image("logo_dark", raster("GIF"), content_type="image/png")
            assert mislabelled.value.code == "image_type_mismatch"
        finally:
            api.set_branding()
            for slot in ("login_logo", "logo_light"):
                api.delete_branding_image(slot)
        assert api.branding()["images"]["login_logo"] is None
