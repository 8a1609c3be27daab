"""Admin API tokens: scoped, expiring, hashed at rest, shown once, usable as Bearer."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from litemaas.kit.time import utcnow
from litemaas.models.admin_token import AdminToken
from litemaas.models.audit_event import AuditEvent
from tests.support.backend import asgi_client, dev_login, unique

pytestmark = pytest.mark.asyncio


async def _create(admin_client, **body):
    response = await admin_client.post("/api/v1/admin/tokens", json={"name": "ci-bot", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_token_is_shown_once_and_stored_hashed(app, admin_client):
    created = await _create(admin_client, role="admin", expires_in_days=7)
    secret = created["token"]
    assert secret.startswith("lmt_") and len(secret) > 40
    listed = (await admin_client.get("/api/v1/admin/tokens")).json()
    row = next(t for t in listed if t["id"] == created["id"])
    assert "token" not in row and row["display_prefix"] == secret[:8]
    async with app.state.sessionmaker() as session:
        stored = await session.get(AdminToken, created["id"])
        assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        dump = (await session.execute(text("SELECT row_to_json(t)::text FROM admin_tokens t"))).scalars().all()
        audit = (await session.execute(text("SELECT row_to_json(a)::text FROM audit_events a"))).scalars().all()
    assert not any(secret in r for r in dump)
    assert not any(secret in r for r in audit)


async def test_bearer_token_works_on_the_api_without_csrf(app, admin_client):
    secret = (await _create(admin_client, role="admin"))["token"]
    async with asgi_client(app, headers={"Authorization": f"Bearer {secret}"}) as script:
        me = (await script.get("/api/v1/auth/me")).json()
        assert me["via"] == "token" and me["role"] == "admin"
        target = (await admin_client.get("/api/v1/auth/me")).json()["user_id"]
        # State change with no cookie and no CSRF header: fine for a bearer token.
        r = await script.put(f"/api/v1/admin/users/{target}/role", json={"role": "admin", "reason": "script"})
        assert r.status_code == 200, r.text


async def test_readonly_token_reads_but_cannot_change(app, admin_client):
    secret = (await _create(admin_client, role="admin_readonly"))["token"]
    async with asgi_client(app, headers={"Authorization": f"Bearer {secret}"}) as script:
        assert (await script.get("/api/v1/admin/audit")).status_code == 200
        r = await script.post("/api/v1/admin/tokens", json={"name": "escalate", "role": "admin"})
        assert r.status_code == 403


async def test_scoped_token_gets_only_its_scopes(app, admin_client):
    secret = (await _create(admin_client, role="admin", scopes=["admin:read"]))["token"]
    async with asgi_client(app, headers={"Authorization": f"Bearer {secret}"}) as script:
        assert (await script.get("/api/v1/admin/users")).status_code == 200
        target = (await admin_client.get("/api/v1/auth/me")).json()["user_id"]
        r = await script.put(f"/api/v1/admin/users/{target}/role", json={"role": "admin"})
        assert r.status_code == 403


async def test_bad_scopes_and_roles_are_refused(admin_client, readonly_client):
    r = await admin_client.post("/api/v1/admin/tokens", json={"name": "x", "role": "admin", "scopes": ["nope"]})
    assert r.status_code == 400 and r.json()["field"] == "scopes"
    r = await admin_client.post("/api/v1/admin/tokens", json={"name": "x", "role": "user"})
    assert r.status_code == 400 and r.json()["field"] == "role"
    r = await admin_client.post("/api/v1/admin/tokens", json={"name": "x", "role": "admin", "expires_in_days": 9999})
    assert r.status_code == 400 and r.json()["field"] == "expires_in_days"
    r = await readonly_client.post("/api/v1/admin/tokens", json={"name": "x", "role": "admin_readonly"})
    assert r.status_code == 403


async def test_revoked_expired_and_unknown_tokens_are_refused(app, admin_client):
    revoked = await _create(admin_client, role="admin")
    expired = await _create(admin_client, role="admin")
    r = await admin_client.delete(f"/api/v1/admin/tokens/{revoked['id']}")
    assert r.status_code == 200 and r.json()["revoked_at"]
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(AdminToken).where(AdminToken.id == expired["id"]).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    for secret in (revoked["token"], expired["token"], "lmt_" + "A" * 43, "sk-not-ours"):
        async with asgi_client(app, headers={"Authorization": f"Bearer {secret}"}) as script:
            response = await script.get("/api/v1/auth/me")
            assert response.status_code == 401, secret
            assert response.headers["www-authenticate"] == "Bearer"


async def test_token_never_exceeds_its_owners_current_role(app, login, admin_client):
    owner = await login(role="admin")
    owner_id = (await owner.get("/api/v1/auth/me")).json()["user_id"]
    secret = (await _create(owner, role="admin"))["token"]
    await admin_client.put(f"/api/v1/admin/users/{owner_id}/role", json={"role": "admin_readonly"})
    async with asgi_client(app, headers={"Authorization": f"Bearer {secret}"}) as script:
        # The owner's dev-login role (a group role) is still admin; demote that too.
        async with app.state.sessionmaker() as session:
            from litemaas.models.user import User

            await session.execute(update(User).where(User.id == owner_id).values(group_role=None, role="user"))
            await session.commit()
        await app.state.user_cache.invalidate(__import__("uuid").UUID(owner_id))
        assert (await script.get("/api/v1/admin/users")).status_code == 403
        await admin_client.put(f"/api/v1/admin/users/{owner_id}/active", json={"is_active": False})
        assert (await script.get("/api/v1/auth/me")).status_code == 401


async def test_create_list_revoke_are_audited(app, admin_client):
    created = await _create(admin_client, role="admin_readonly")
    await admin_client.get("/api/v1/admin/tokens")
    await admin_client.delete(f"/api/v1/admin/tokens/{created['id']}")
    async with app.state.sessionmaker() as session:
        rows = (await session.scalars(select(AuditEvent).where(AuditEvent.target_type == "admin_token"))).all()
    actions = {(r.action, r.target_id) for r in rows}
    assert ("admin_token.create", created["id"]) in actions
    assert ("admin_token.revoke", created["id"]) in actions
    assert any(a == "admin_token.list" for a, _ in actions)


async def test_expiry_defaults_to_the_configured_days(make_app, settings):
    configured = settings.model_copy(update={"admin_token_default_days": 3})
    async with make_app(configured) as app, asgi_client(app) as c:
        admin = await dev_login(c, unique("admin"), "admin")
        created = await _create(admin, role="admin_readonly")
        expires_in = datetime.fromisoformat(created["expires_at"]) - datetime.fromisoformat(created["created_at"])
        assert abs(expires_in - timedelta(days=3)) < timedelta(minutes=1), expires_in
        # An explicit expiry still wins, within the maximum.
        explicit = await _create(admin, role="admin_readonly", expires_in_days=10)
        expires_in = datetime.fromisoformat(explicit["expires_at"]) - datetime.fromisoformat(explicit["created_at"])
        assert abs(expires_in - timedelta(days=10)) < timedelta(minutes=1), expires_in


async def test_a_token_cannot_mint_a_broader_or_longer_lived_token(app, admin_client):
    """The escalation: a one-day token scoped to tokens:manage minted an unscoped one-year admin token."""
    parent = await _create(admin_client, role="admin", scopes=["tokens:manage"], expires_in_days=1)
    parent_expiry = datetime.fromisoformat(parent["expires_at"])
    async with asgi_client(app, headers={"Authorization": f"Bearer {parent['token']}"}) as script:
        r = await script.post("/api/v1/admin/tokens", json={"name": "esc", "role": "admin", "expires_in_days": 365})
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "token_escalation"
        assert "permissions it does not hold" in r.json()["detail"] and "admin:read" in r.json()["detail"]
        # Same scopes, but outliving the parent.
        r = await script.post(
            "/api/v1/admin/tokens",
            json={"name": "esc", "role": "admin", "scopes": ["tokens:manage"], "expires_in_days": 365},
        )
        assert r.status_code == 403 and r.json()["error"] == "token_escalation"
        assert "outlives" in r.json()["detail"] and "at most 1" in r.json()["detail"]
        # A scope the parent lacks, even a read-only one, on a lesser role.
        r = await script.post(
            "/api/v1/admin/tokens", json={"name": "esc", "role": "admin_readonly", "scopes": ["admin:read"]}
        )
        assert r.status_code == 403 and "admin:read" in r.json()["detail"]

        # Narrower (here: equal) and no longer-lived still works; an omitted expiry is cut to the parent's.
        child = await script.post(
            "/api/v1/admin/tokens", json={"name": "child", "role": "admin", "scopes": ["tokens:manage"]}
        )
        assert child.status_code == 201, child.text
        assert datetime.fromisoformat(child.json()["expires_at"]) <= parent_expiry
        explicit = await script.post(
            "/api/v1/admin/tokens",
            json={"name": "child-1d", "role": "admin", "scopes": ["tokens:manage"], "expires_in_days": 1},
        )
        assert explicit.status_code == 201, explicit.text
        assert datetime.fromisoformat(explicit.json()["expires_at"]) <= parent_expiry
    async with asgi_client(app, headers={"Authorization": f"Bearer {child.json()['token']}"}) as grandchild:
        assert (await grandchild.get("/api/v1/admin/users")).status_code == 403
    # Nothing broader was stored on the way.
    async with app.state.sessionmaker() as session:
        minted = (await session.scalars(select(AdminToken).where(AdminToken.name == "esc"))).all()
    assert minted == []


async def test_a_token_revokes_only_tokens_within_its_own_permissions(app, admin_client):
    manager = await _create(admin_client, role="admin", scopes=["tokens:manage"])
    broad = await _create(admin_client, role="admin")
    async with asgi_client(app, headers={"Authorization": f"Bearer {manager['token']}"}) as script:
        r = await script.delete(f"/api/v1/admin/tokens/{broad['id']}")
        assert r.status_code == 403 and r.json()["error"] == "token_escalation"
        narrow = (
            await script.post("/api/v1/admin/tokens", json={"name": "n", "role": "admin", "scopes": ["tokens:manage"]})
        ).json()
        assert (await script.delete(f"/api/v1/admin/tokens/{narrow['id']}")).status_code == 200
    async with asgi_client(app, headers={"Authorization": f"Bearer {broad['token']}"}) as still_live:
        assert (await still_live.get("/api/v1/auth/me")).status_code == 200
    # An admin's browser session keeps full power over every token.
    assert (await admin_client.delete(f"/api/v1/admin/tokens/{broad['id']}")).status_code == 200


async def test_a_scoped_token_cannot_make_anyone_an_admin(app, admin_client, login):
    """users:write alone promoted an attendee to admin, whose session then minted unscoped tokens."""
    attendee = await login(unique("attendee"))
    attendee_id = (await attendee.get("/api/v1/auth/me")).json()["user_id"]
    scoped = await _create(admin_client, role="admin", scopes=["users:write"], expires_in_days=1)
    async with asgi_client(app, headers={"Authorization": f"Bearer {scoped['token']}"}) as script:
        for role in ("admin", "admin_readonly"):
            r = await script.put(f"/api/v1/admin/users/{attendee_id}/role", json={"role": role})
            assert r.status_code == 403, r.text
            assert r.json()["error"] == "token_escalation" and "admin:read" in r.json()["detail"]
        # What it holds, it may still do: revoke a manual grant.
        assert (await script.put(f"/api/v1/admin/users/{attendee_id}/role", json={"role": "user"})).status_code == 200
    assert (await attendee.get("/api/v1/admin/users")).status_code == 403
    async with app.state.sessionmaker() as session:
        role = (await session.execute(text("SELECT role FROM users WHERE id = :id"), {"id": attendee_id})).scalar_one()
    assert role == "user"
    # An unscoped admin token holds every admin permission, so it may still grant roles.
    full = await _create(admin_client, role="admin", expires_in_days=1)
    async with asgi_client(app, headers={"Authorization": f"Bearer {full['token']}"}) as script:
        r = await script.put(f"/api/v1/admin/users/{attendee_id}/role", json={"role": "admin_readonly"})
        assert r.status_code == 200, r.text
