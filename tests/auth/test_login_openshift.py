"""OpenShift OAuth login against the local OAuth server + user API."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tests.support.backend import browser, dev_login, unique

pytestmark = pytest.mark.asyncio


async def test_login_with_groups_from_the_user_api(make_app, idp_settings, idp):
    username = unique("ocp")
    idp.login_as(username, groups=["litemaas-readonly"], full_name="Ada Lovelace")
    async with make_app(idp_settings) as app, browser(app) as b:
        response = await b.get("/auth/openshift/start", params={"next": "/catalog?q=x"})
        assert response.status_code == 200 and str(response.url) == "http://testserver/catalog?q=x"
        me = (await b.get("/api/v1/auth/me")).json()
        assert me["username"] == username
        assert me["role"] == "admin_readonly"
        assert me["display_name"] == "Ada Lovelace"
        assert "system:authenticated" in me["groups"]
        token_request = idp.token_requests[-1]
        assert token_request["grant_type"] == "authorization_code"
        assert token_request.get("code_verifier")
        assert token_request["client_id"] == "litemaas-oauth-client"


async def test_oauth_endpoints_come_from_discovery(make_app, idp_settings, idp):
    idp.login_as(unique("ocp"))
    assert idp_settings.openshift_oauth_url is None
    async with make_app(idp_settings) as app, browser(app) as b:
        b.follow_redirects = False
        start = await b.get("/auth/openshift/start")
        assert start.headers["location"].startswith(idp.base_url + "/oauth/authorize?")
        assert "scope=user%3Ainfo" in start.headers["location"]


async def test_service_account_client_reads_its_token_from_a_file(make_app, idp_settings, idp, tmp_path):
    client_id = "system:serviceaccount:litemaas:litemaas-backend"
    sa_token = "eyJhbGciOiJSUzI1NiJ9.sa-token-" + unique("t")
    token_file = tmp_path / "token"
    token_file.write_text(sa_token + "\n")
    idp.register_client(client_id, sa_token, ["http://testserver/auth/openshift/callback"])
    settings = idp_settings.model_copy(
        update={
            "openshift_client_id": client_id,
            "openshift_client_secret": None,
            "openshift_client_secret_file": token_file,
        }
    )
    username = unique("ocp")
    idp.login_as(username, groups=["litemaas-admins"])
    async with make_app(settings) as app, browser(app) as b:
        await b.get("/auth/openshift/start")
        me = (await b.get("/api/v1/auth/me")).json()
        assert me["username"] == username and me["role"] == "admin"


async def test_wrong_client_secret_fails_cleanly(make_app, idp_settings, idp):
    idp.login_as(unique("ocp"))
    settings = idp_settings.model_copy(update={"openshift_client_secret": SecretStr("wrong-" + "x" * 30)})
    async with make_app(settings) as app, browser(app) as b:
        response = await b.get("/auth/openshift/start")
        assert response.url.path == "/login"
        assert response.url.params["error"] == "login_failed"
        assert (await b.get("/api/v1/auth/me")).status_code == 401


async def test_deactivated_user_cannot_log_in(make_app, idp_settings, idp):
    username = unique("ocp")
    idp.login_as(username)
    async with make_app(idp_settings) as app:
        async with browser(app) as b:
            await b.get("/auth/openshift/start")
            user_id = (await b.get("/api/v1/auth/me")).json()["user_id"]
        async with browser(app) as admin:
            await dev_login(admin, unique("admin"), "admin")
            r = await admin.put(f"/api/v1/admin/users/{user_id}/active", json={"is_active": False, "reason": "left"})
            assert r.status_code == 200, r.text
        async with browser(app) as b:
            response = await b.get("/auth/openshift/start")
            assert response.url.path == "/login"
            assert response.url.params["error"] == "account_deactivated"
            assert (await b.get("/api/v1/auth/me")).status_code == 401


async def test_unconfigured_provider_is_not_found(client):
    response = await client.get("/auth/openshift/start")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
