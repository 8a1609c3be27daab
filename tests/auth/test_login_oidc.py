"""Generic OIDC login against the local provider: discovery, PKCE, nonce, verified ID tokens."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select

from litemaas.models.audit_event import AuditEvent
from litemaas.models.user import User
from tests.support.backend import browser, unique

pytestmark = pytest.mark.asyncio


async def _count_users(app, username: str) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(User).where(User.username == username)) or 0)


async def test_full_login_creates_user_with_role_from_groups(make_app, idp_settings, idp):
    username = unique("oidc")
    idp.login_as(username, groups=["litemaas-admins", "other"], email=f"{username}@example.com")
    async with make_app(idp_settings) as app, browser(app) as b:
        response = await b.get("/auth/oidc/start", params={"next": "/"})
        assert response.status_code == 200
        # Back where the login started (the home page leads to the catalog), logged in.
        assert str(response.url) == "http://testserver/catalog"
        assert f'data-testid="username">{username}<' in response.text
        me = (await b.get("/api/v1/auth/me")).json()
        assert me["username"] == username
        assert me["role"] == "admin"
        assert me["email"] == f"{username}@example.com"
        # PKCE S256 was used: the token request carried the verifier.
        assert idp.token_requests[-1].get("code_verifier")
        async with app.state.sessionmaker() as session:
            actions = set(
                (await session.scalars(select(AuditEvent.action).where(AuditEvent.actor_label == username))).all()
            )
        assert {"user.create", "auth.login"} <= actions


async def test_authorization_request_carries_pkce_nonce_state(make_app, idp_settings, idp):
    async with make_app(idp_settings) as app, browser(app) as b:
        b.follow_redirects = False
        response = await b.get("/auth/oidc/start")
        assert response.status_code == 303
        query = parse_qs(urlparse(response.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"]
        assert len(query["code_challenge"][0]) >= 43
        assert query["nonce"][0] and query["state"][0]
        assert query["redirect_uri"] == ["http://testserver/auth/oidc/callback"]
        assert "openid" in query["scope"][0].split()


async def test_groups_follow_the_idp_at_each_login_but_manual_grants_persist(make_app, idp_settings, idp, login):
    username = unique("oidc")
    async with make_app(idp_settings) as app:
        idp.login_as(username, groups=["litemaas-readonly"])
        async with browser(app) as b:
            await b.get("/auth/oidc/start")
            assert (await b.get("/api/v1/auth/me")).json()["role"] == "admin_readonly"
        idp.login_as(username, groups=[])
        async with browser(app) as b:
            await b.get("/auth/oidc/start")
            me = (await b.get("/api/v1/auth/me")).json()
            assert me["role"] == "user"
        # An admin grants admin_readonly by hand: it survives logins without the group.
        async with browser(app) as admin:
            from tests.support.backend import dev_login

            await dev_login(admin, unique("admin"), "admin")
            r = await admin.put(f"/api/v1/admin/users/{me['user_id']}/role", json={"role": "admin_readonly"})
            assert r.status_code == 200, r.text
        async with browser(app) as b:
            await b.get("/auth/oidc/start")
            assert (await b.get("/api/v1/auth/me")).json()["role"] == "admin_readonly"


@pytest.mark.parametrize(
    "mode",
    [
        "tamper",
        "foreign_key",
        "unknown_kid",
        "wrong_nonce",
        "no_nonce",
        "wrong_aud",
        "wrong_iss",
        "expired",
        "alg_none",
        "hs256",
    ],
)
async def test_untrustworthy_id_tokens_are_refused(make_app, idp_settings, idp, mode):
    username = unique(f"evil-{mode}")
    idp.login_as(username, groups=["litemaas-readonly"])
    idp.misbehave = mode
    async with make_app(idp_settings) as app, browser(app) as b:
        response = await b.get("/auth/oidc/start")
        assert response.url.path == "/login"
        assert response.url.params["error"] == "login_failed"
        assert "litemaas_session" not in b.cookies
        assert (await b.get("/api/v1/auth/me")).status_code == 401
        assert await _count_users(app, username) == 0


async def test_callback_with_a_foreign_state_is_refused(make_app, idp_settings, idp):
    idp.login_as(unique("oidc"))
    async with make_app(idp_settings) as app, browser(app) as b:
        b.follow_redirects = False
        start = await b.get("/auth/oidc/start")
        at_idp = await b.get(start.headers["location"])
        callback = urlparse(at_idp.headers["location"])
        code = parse_qs(callback.query)["code"][0]
        response = await b.get("/auth/oidc/callback", params={"code": code, "state": "forged-state"})
        assert response.status_code == 303
        assert response.headers["location"] == "/login?error=invalid_state"
        assert "litemaas_session" not in b.cookies


async def test_state_is_single_use(make_app, idp_settings, idp):
    idp.login_as(unique("oidc"))
    async with make_app(idp_settings) as app, browser(app) as b:
        b.follow_redirects = False
        start = await b.get("/auth/oidc/start")
        at_idp = await b.get(start.headers["location"])
        callback_url = at_idp.headers["location"]
        first = await b.get(callback_url)
        assert first.headers["location"] == "/"
        b.cookies.set("litemaas_login", parse_qs(urlparse(callback_url).query)["state"][0], path="/auth")
        replay = await b.get(callback_url)
        assert replay.headers["location"] == "/login?error=invalid_state"


async def test_callback_in_another_browser_is_refused(make_app, idp_settings, idp):
    """A login link lured into someone else's browser does not log that browser in."""
    username = unique("oidc")
    idp.login_as(username)
    async with make_app(idp_settings) as app, browser(app) as attacker, browser(app) as victim:
        attacker.follow_redirects = False
        start = await attacker.get("/auth/oidc/start")
        at_idp = await attacker.get(start.headers["location"])
        victim.follow_redirects = False
        response = await victim.get(at_idp.headers["location"])
        assert response.headers["location"] == "/login?error=invalid_state"
        assert await _count_users(app, username) == 0


async def test_idp_error_is_reported(make_app, idp_settings, idp):
    idp.current_user = None  # the IdP answers access_denied
    async with make_app(idp_settings) as app, browser(app) as b:
        response = await b.get("/auth/oidc/start")
        assert response.url.path == "/login"
        assert response.url.params["error"] == "idp_refused"


async def test_groups_from_userinfo_when_absent_from_id_token(make_app, idp_settings, idp):
    username = unique("oidc")
    idp.login_as(username, groups=["litemaas-admins"])
    idp.groups_in_id_token = False
    async with make_app(idp_settings) as app, browser(app) as b:
        await b.get("/auth/oidc/start")
        assert (await b.get("/api/v1/auth/me")).json()["role"] == "admin"


async def test_logout_offers_the_idp_logout_url_and_ends_the_session(make_app, idp_settings, idp):
    idp.login_as(unique("oidc"))
    async with make_app(idp_settings) as app, browser(app) as b:
        await b.get("/auth/oidc/start")
        stolen = b.cookies.get("litemaas_session")
        response = await b.post("/api/v1/auth/logout", headers={"X-CSRF-Token": b.cookies.get("litemaas_csrf")})
        assert response.status_code == 200
        assert response.json()["logout_url"].startswith(idp.issuer + "/logout?client_id=")
        assert (await b.get("/api/v1/auth/me")).status_code == 401
        # The old cookie, replayed, is dead too (server-side revocation).
        b.cookies.set("litemaas_session", stolen)
        assert (await b.get("/api/v1/auth/me")).status_code == 401
