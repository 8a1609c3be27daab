"""Two backend processes sharing PostgreSQL and Redis: any replica finishes any login."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.backend import OIDC_CLIENT_SECRET, free_port, unique

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.asyncio
async def test_login_started_on_one_replica_finishes_on_another(make_app, idp_settings, idp, backend_process, capsys):
    """Replica A (in this process) starts the login; the callback lands on replica B (a subprocess)."""
    replica_a = f"http://127.0.0.1:{free_port()}"
    settings = idp_settings.model_copy(update={"public_url": backend_process.url})
    username = unique("replica")
    idp.login_as(username, groups=["litemaas-readonly"])
    async with (
        make_app(settings) as app_a,
        httpx.AsyncClient(mounts={replica_a: httpx.ASGITransport(app=app_a)}, follow_redirects=True, timeout=10) as b,
    ):
        response = await b.get(replica_a + "/auth/oidc/start")
        hops = [str(r.url) for r in response.history]
        assert hops[0].startswith(replica_a + "/auth/oidc/start")
        assert any(h.startswith(backend_process.url + "/auth/oidc/callback") for h in hops), hops
        # Login lands on "/", which leads a logged-in user to the catalog.
        assert str(response.url) == backend_process.url + "/catalog"
        assert response.status_code == 200 and username in response.text
        # The session works on both replicas (shared signing secret, roles from the shared DB).
        for base in (backend_process.url, replica_a):
            me = await b.get(base + "/api/v1/auth/me")
            assert me.status_code == 200, (base, me.text)
            assert me.json()["role"] == "admin_readonly"
        session_cookie = b.cookies.get("litemaas_session")
        csrf = b.cookies.get("litemaas_csrf")
        # Logging out on A ends the session on B at once (revocation shared through the database).
        out = await b.post(replica_a + "/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 200
        b.cookies.set("litemaas_session", session_cookie)
        assert (await b.get(backend_process.url + "/api/v1/auth/me")).status_code == 401
    secrets = [session_cookie, csrf, OIDC_CLIENT_SECRET, *idp.issued_secrets]
    logs = backend_process.log() + capsys.readouterr().out
    assert "auth.login.done" in logs
    for secret in secrets:
        assert secret not in logs


def test_production_settings_refuse_to_serve_with_dev_login(tmp_path, backend_database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "LITEMAAS_ENVIRONMENT": "production",
            "LITEMAAS_DEV_LOGIN_ENABLED": "true",
            "LITEMAAS_DATABASE_URL": backend_database_url,
            "LITEMAAS_SESSION_SECRET": "Zq8" + os.urandom(24).hex(),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "litemaas.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        check=False,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"DEV_LOGIN_ENABLED must be false in production" in result.stderr
