"""Browser sessions: development login, cookies, CSRF, live roles, logout, deactivation."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import pytest
from sqlalchemy import update

from litemaas.models.user import User
from tests.support.backend import asgi_client, dev_login, unique

pytestmark = pytest.mark.asyncio


async def test_dev_login_disabled_is_absent(make_app, settings):
    async with make_app(settings.model_copy(update={"dev_login_enabled": False})) as app, asgi_client(app) as c:
        response = await c.post("/auth/dev", data={"username": unique(), "role": "admin"})
        assert response.status_code == 404
        assert "litemaas_session" not in c.cookies
        page = await c.get("/login")
        assert "Development login" not in page.text
        providers = (await c.get("/api/v1/auth/providers")).json()
        assert all(p["name"] != "dev" for p in providers)


async def test_anonymous_requests_are_never_admin(client):
    """The upstream 'bypass' logged anonymous browsers in as admin; here they are nobody."""
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    assert (await client.get("/api/v1/admin/users")).status_code == 401
    assert (await client.get("/api/v1/admin/audit")).status_code == 401
    response = await client.post("/api/v1/admin/tokens", json={"name": "x", "role": "admin"})
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": "authentication required"}
    landing = await client.get("/", follow_redirects=True)
    assert landing.url.path == "/login" and landing.url.params["next"] == "/catalog"


async def test_session_cookie_flags(make_app, settings):
    async with make_app(settings.model_copy(update={"cookie_secure": True})) as app:
        async with asgi_client(app) as c:
            response = await c.post("/auth/dev", data={"username": unique(), "role": "user"})
        cookies = response.headers.get_list("set-cookie")
        session = next(h for h in cookies if h.startswith("litemaas_session="))
        csrf = next(h for h in cookies if h.startswith("litemaas_csrf="))
        assert "HttpOnly" in session and "Secure" in session and "SameSite=lax" in session
        assert "Max-Age=1800" in session
        assert "HttpOnly" not in csrf and "Secure" in csrf
        # The session token carries identity only: no role to go stale.
        token = session.split(";")[0].split("=", 1)[1]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert "role" not in claims and claims["exp"] - claims["iat"] == 1800


async def test_state_changing_request_without_csrf_is_refused(login, admin_client):
    user = await login(role="admin")
    me = (await user.get("/api/v1/auth/me")).json()
    target = (await admin_client.get("/api/v1/auth/me")).json()["user_id"]
    csrf = user.headers.pop("X-CSRF-Token")
    missing = await user.put(f"/api/v1/admin/users/{target}/role", json={"role": "admin"})
    assert missing.status_code == 403
    assert missing.json()["error"] == "csrf_failed"
    wrong = await user.put(
        f"/api/v1/admin/users/{target}/role", json={"role": "admin"}, headers={"X-CSRF-Token": "nope"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"] == "csrf_failed"
    # Reads need no CSRF token; the right token makes the change go through.
    assert (await user.get("/api/v1/auth/me")).status_code == 200
    ok = await user.put(f"/api/v1/admin/users/{target}/role", json={"role": "admin"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    assert me["role"] == "admin"


async def test_tampered_or_foreign_session_tokens_are_anonymous(app, user_client):
    token = user_client.cookies.get("litemaas_session")
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": str(uuid.uuid4())}, "not-our-secret-" + "x" * 32, algorithm="HS256")
    for value in (f"{header}.{payload}.{signature[::-1]}", forged, "garbage"):
        async with asgi_client(app, cookies={"litemaas_session": value}) as c:
            assert (await c.get("/api/v1/auth/me")).status_code == 401


async def test_demotion_applies_to_the_next_request(login, admin_client):
    target = await login(role="user")
    target_id = (await target.get("/api/v1/auth/me")).json()["user_id"]
    promoted = await admin_client.put(f"/api/v1/admin/users/{target_id}/role", json={"role": "admin"})
    assert promoted.status_code == 200
    assert (await target.get("/api/v1/admin/users")).status_code == 200
    demoted = await admin_client.put(f"/api/v1/admin/users/{target_id}/role", json={"role": "user"})
    assert demoted.json()["role"] == "user"
    assert (await target.get("/api/v1/admin/users")).status_code == 403


async def test_role_change_outside_the_api_applies_within_the_cache_ttl(make_app, settings):
    """Even a change the app did not make (SQL by hand) is seen within role_cache_seconds."""
    async with make_app(settings.model_copy(update={"role_cache_seconds": 1.0})) as app, asgi_client(app) as c:
        await dev_login(c, unique("admin"), "admin")
        me = (await c.get("/api/v1/auth/me")).json()
        assert (await c.get("/api/v1/admin/users")).status_code == 200
        async with app.state.sessionmaker() as session:
            await session.execute(
                update(User).where(User.id == uuid.UUID(me["user_id"])).values(role="user", group_role=None)
            )
            await session.commit()
        started = time.monotonic()
        while (await c.get("/api/v1/admin/users")).status_code == 200:
            assert time.monotonic() - started < 1.5, "demotion not applied within the cache TTL"
            await asyncio.sleep(0.1)


async def test_deactivation_ends_sessions_and_blocks_login(login, admin_client):
    username = unique("leaver")
    target = await login(username, "user")
    target_id = (await target.get("/api/v1/auth/me")).json()["user_id"]
    r = await admin_client.put(f"/api/v1/admin/users/{target_id}/active", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await target.get("/api/v1/auth/me")).status_code == 401
    again = await target.post("/auth/dev", data={"username": username, "role": "user"}, follow_redirects=False)
    assert again.headers["location"] == "/login?error=account_deactivated"


async def test_logout_form_needs_the_csrf_token(user_client):
    refused = await user_client.post("/auth/logout", headers={"X-CSRF-Token": ""}, follow_redirects=False)
    assert refused.status_code == 403
    csrf = user_client.cookies.get("litemaas_csrf")
    response = await user_client.post("/auth/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert (await user_client.get("/api/v1/auth/me")).status_code == 401


async def test_logout_without_redis_holds_on_other_replicas_and_after_a_restart(make_app, settings):
    """Two processes sharing the secret and the database, no Redis: logging out on one ends it on all."""
    no_redis = settings.model_copy(update={"redis_url": None})
    async with make_app(no_redis) as replica_a, make_app(no_redis) as replica_b, asgi_client(replica_a) as a:
        await dev_login(a, unique("leaving"), "user")
        cookie = a.cookies.get("litemaas_session")
        async with asgi_client(replica_b, cookies={"litemaas_session": cookie}) as b:
            assert (await b.get("/api/v1/auth/me")).status_code == 200
            assert (await a.post("/api/v1/auth/logout")).status_code == 200
            assert (await b.get("/api/v1/auth/me")).status_code == 401
    # A process started afterwards (a restart) refuses the logged-out cookie too.
    async with make_app(no_redis) as restarted, asgi_client(restarted, cookies={"litemaas_session": cookie}) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 401


async def test_open_redirects_are_refused(client):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil"):
        response = await client.post(
            "/auth/dev", data={"username": unique(), "role": "user", "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/"


async def test_admins_cannot_demote_or_deactivate_themselves(admin_client):
    me = (await admin_client.get("/api/v1/auth/me")).json()
    r = await admin_client.put(f"/api/v1/admin/users/{me['user_id']}/role", json={"role": "user"})
    assert r.status_code == 400 and r.json()["field"] == "role"
    r = await admin_client.put(f"/api/v1/admin/users/{me['user_id']}/active", json={"is_active": False})
    assert r.status_code == 400


async def test_sliding_refresh_renews_the_cookie(app, user_client, monkeypatch):
    sessions = app.state.sessions
    token = user_client.cookies.get("litemaas_session")
    claims = sessions.decode(token)
    # Pretend the token was issued more than half its lifetime ago.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + sessions.ttl * 0.6)
    response = await user_client.get("/api/v1/auth/me")
    assert response.status_code == 200
    renewed = [h for h in response.headers.get_list("set-cookie") if h.startswith("litemaas_session=")]
    assert renewed, "no renewed session cookie"
    new_claims = jwt.decode(renewed[0].split(";")[0].split("=", 1)[1], options={"verify_signature": False})
    assert new_claims["sid"] == claims.session_id and new_claims["exp"] > claims.expires_at
    assert new_claims["csrf"] == claims.csrf
