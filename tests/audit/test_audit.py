"""Audit log: recorded with every change, searchable by admins, never holding a secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from litemaas.audit.service import SystemActor, record
from litemaas.config import Settings
from litemaas.kit.redaction import REDACTED
from tests.support.backend import asgi_client, unique


async def _role_change(admin_client, login, reason="promotion"):
    target = await login(role="user")
    target_id = (await target.get("/api/v1/auth/me")).json()["user_id"]
    r = await admin_client.put(f"/api/v1/admin/users/{target_id}/role", json={"role": "admin", "reason": reason})
    assert r.status_code == 200
    return target_id


async def test_role_change_is_recorded_with_before_after_actor_and_ip(admin_client, login):
    admin = (await admin_client.get("/api/v1/auth/me")).json()
    target_id = await _role_change(admin_client, login, reason="on call this week")
    page = (
        await admin_client.get("/api/v1/admin/audit", params={"target_id": target_id, "action": "user.role.change"})
    ).json()
    assert page["total"] == 1
    event = page["items"][0]
    assert event["actor_id"] == admin["user_id"] and event["actor_label"] == admin["username"]
    assert event["actor_via"] == "session"
    assert event["before"]["role"] == "user" and event["after"]["role"] == "admin"
    assert event["reason"] == "on call this week"
    assert event["source_ip"] == "203.0.113.7"
    assert event["request_id"]


async def test_search_filters_and_pagination(admin_client, login):
    since = datetime.now(UTC) - timedelta(seconds=1)
    admin = (await admin_client.get("/api/v1/auth/me")).json()
    for _ in range(3):
        await _role_change(admin_client, login)
    params = {"actor": admin["username"], "action": "user.role.*", "target_type": "user", "since": since.isoformat()}
    first = (await admin_client.get("/api/v1/admin/audit", params={**params, "limit": 2})).json()
    assert first["total"] == 3 and len(first["items"]) == 2
    second = (await admin_client.get("/api/v1/admin/audit", params={**params, "limit": 2, "offset": 2})).json()
    assert len(second["items"]) == 1
    ids = {e["id"] for e in first["items"] + second["items"]}
    assert len(ids) == 3
    by_id = (
        await admin_client.get("/api/v1/admin/audit", params={"actor": admin["user_id"], "since": since.isoformat()})
    ).json()
    assert by_id["total"] >= 3
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await admin_client.get("/api/v1/admin/audit", params={**params, "since": future})).json()["total"] == 0
    bad = await admin_client.get("/api/v1/admin/audit", params={"since": "2025-01-01T00:00:00"})
    assert bad.status_code == 400 and bad.json()["field"] == "since"


async def test_admin_readonly_may_search_users_may_not(readonly_client, user_client):
    assert (await readonly_client.get("/api/v1/admin/audit")).status_code == 200
    assert (await user_client.get("/api/v1/admin/audit")).status_code == 403


async def test_record_redacts_secrets(app):
    async with app.state.sessionmaker() as session:
        event = await record(
            session,
            actor=SystemActor("test"),
            action="test.redaction",
            target_type="api_key",
            target_id=unique("k"),
            before={"key": "sk-abcdefghijklmnop", "key_alias": "mine", "nested": {"client_secret": "s3cr3t"}},
            after={"note": "new key sk-zyxwvutsrqponm issued", "api_key": "plain", "max_tokens": 100},
            reason="rotated lmt_abcdefghijklmnopqrstu because Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        )
        await session.commit()
    assert event.before == {"key": REDACTED, "key_alias": "mine", "nested": {"client_secret": REDACTED}}
    assert event.after == {"note": f"new key {REDACTED} issued", "api_key": REDACTED, "max_tokens": 100}
    assert "lmt_" not in event.reason and "eyJ" not in event.reason


async def test_no_session_or_token_secret_in_any_audit_row_or_log(app, admin_client, capsys):
    created = (await admin_client.post("/api/v1/admin/tokens", json={"name": "leak-check", "role": "admin"})).json()
    async with asgi_client(app, headers={"Authorization": f"Bearer {created['token']}"}) as script:
        assert (await script.get("/api/v1/admin/users")).status_code == 200
    secrets = [
        created["token"],
        admin_client.cookies.get("litemaas_session"),
        admin_client.cookies.get("litemaas_csrf"),
        app.state.settings.session_secret.get_secret_value(),
    ]
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(text("SELECT row_to_json(a)::text FROM audit_events a"))).scalars().all()
    logs = capsys.readouterr().out
    assert "admin_token.create" in logs
    for secret in secrets:
        assert not any(secret in row for row in rows)
        assert secret not in logs


# --- the audited source IP: forwarded headers only from trusted proxies ----------------


def _login_source_ip(database_url: str, username: str) -> str:
    with psycopg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1)) as conn:
        row = conn.execute(
            "SELECT source_ip FROM audit_events WHERE action = 'auth.login' AND actor_label = %s", (username,)
        ).fetchone()
    assert row is not None, f"no auth.login audit row for {username}"
    return str(row[0])


async def test_litemaas_serve_ignores_forwarded_for_when_no_proxy_is_trusted(backend_process, backend_database_url):
    """`litemaas serve` behind nothing: a local client's X-Forwarded-For does not change the audited IP."""
    username = unique("spoofer")
    async with httpx.AsyncClient(base_url=backend_process.url, timeout=10) as c:
        r = await c.post(
            "/auth/dev",
            data={"username": username, "role": "user"},
            headers={"X-Forwarded-For": "1.2.3.4"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    assert _login_source_ip(backend_database_url, username) == "127.0.0.1"


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "audited"),
    [
        # Nothing trusted (the default): the TCP peer, whatever the header says.
        ([], "1.2.3.4", "203.0.113.7"),
        # The peer is the trusted proxy: the rightmost hop it appended is the client; what the
        # client itself put in front of it (6.6.6.6) is not believed.
        (["203.0.113.7"], "6.6.6.6, 1.2.3.4", "1.2.3.4"),
        # A chain of trusted proxies (router, then an internal hop) is walked from the right.
        (["203.0.113.0/24", "10.0.0.0/8"], "6.6.6.6, 1.2.3.4, 10.9.8.7", "1.2.3.4"),
        # Another peer is trusted, not this one: ignored.
        (["198.51.100.1"], "1.2.3.4", "203.0.113.7"),
        # A hop that is no address stops the walk at the last address a trusted proxy vouched for.
        (["203.0.113.7"], "1.2.3.4, not-an-ip", "203.0.113.7"),
    ],
)
async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    make_app, settings, backend_database_url, trusted, forwarded_for, audited
):
    username = unique("behind-proxy")
    async with make_app(settings.model_copy(update={"trusted_proxies": trusted})) as app, asgi_client(app) as c:
        r = await c.post(
            "/auth/dev",
            data={"username": username, "role": "user"},
            headers={"X-Forwarded-For": forwarded_for},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    assert _login_source_ip(backend_database_url, username) == audited


def test_trusted_proxies_setting_takes_a_list_and_refuses_non_addresses(monkeypatch):
    monkeypatch.setenv("LITEMAAS_TRUSTED_PROXIES", "10.128.0.0/14, 192.0.2.10")
    assert Settings(_env_file=None).trusted_proxies == ["10.128.0.0/14", "192.0.2.10"]
    monkeypatch.setenv("LITEMAAS_TRUSTED_PROXIES", "router.example")
    with pytest.raises(ValidationError, match="'router.example' is not an IP address or CIDR block"):
        Settings(_env_file=None)
    monkeypatch.delenv("LITEMAAS_TRUSTED_PROXIES")
    assert Settings(_env_file=None).trusted_proxies == []
