"""After a full story, no secret is anywhere it could be read back.

The story issues every kind of secret the platform handles (a user key and its rotation, an admin
API token, browser session cookies) and makes the proxy answer errors to the attendee. Then it
reads back everything that story produced — every backend response, every row of both databases
(ours and LiteLLM's: spend logs, error logs, audit), the proxy's and the backend's logs — and
looks for each secret, and for the key hashes LiteLLM could accept back, where an attendee sees it.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import openai
import psycopg
import pytest

from tests.support.stack import CHAT, CHAT_2, EMBED, api, chat, db_rows, sdk

pytestmark = pytest.mark.asyncio


def _all_rows(sync_url: str) -> str:
    """Every row of every table of one database, as text."""
    with psycopg.connect(sync_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert len(tables) > 5
        chunks = []
        for (table,) in tables:
            chunks.extend(str(row[0]) for row in conn.execute(f"SELECT t::text FROM {table} t"))
    return "\n".join(chunks)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def test_no_secret_survives_a_story_anywhere(
    login: Any, litellm_stack: Any, backend_database_url: str, capsys: Any, caplog: Any
) -> None:
    caplog.set_level("DEBUG")
    user = api(await login(f"scan-{uuid.uuid4().hex[:6]}"))
    admin = api(await login(role="admin"))
    cookies = [c.client.cookies.get("litemaas_session") for c in (user, admin)]
    assert all(cookies)

    # An admin API token, shown once, then used.
    made_token = (await admin.call("POST", "/admin/tokens", 201, json={"name": "scan", "role": "admin"})).json()
    admin_token = made_token["token"]
    scripted_client = httpx.AsyncClient(
        transport=admin.client._transport,  # the same ASGI app, another credential
        base_url=str(admin.client.base_url),
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    scripted = api(scripted_client)
    await scripted.call("GET", "/admin/tokens", 200)

    # A key, used well and badly, rotated, revoked.
    await user.subscribe(CHAT)
    created = await user.create_key([CHAT], alias="scan", rpm_limit=2)
    key = created["key"]
    client = sdk(litellm_stack, key)
    await chat(client, CHAT)
    attendee_bodies: list[str] = []
    for call in (
        lambda: chat(client, CHAT_2),  # model not on the key
        lambda: client.embeddings.create(model=EMBED, input="x"),  # not on the key either
        lambda: chat(client, CHAT),  # over rpm_limit=2 soon
        lambda: chat(client, CHAT),
        lambda: chat(sdk(litellm_stack, key[:-4] + "abcd"), CHAT),  # a wrong key
    ):
        try:
            await call()
        except openai.APIStatusError as exc:
            attendee_bodies.append(exc.response.text)
    assert len(attendee_bodies) >= 3, attendee_bodies
    async with httpx.AsyncClient(base_url=litellm_stack.proxy_url, timeout=30) as proxy:
        raw = await proxy.post("/key/generate", headers={"Authorization": f"Bearer {key}"}, json={})
    attendee_bodies.append(raw.text)
    rotated = (await user.call("POST", f"/keys/{created['id']}/rotate", 200)).json()
    new_key = rotated["key"]
    try:
        await chat(client, CHAT)  # the old secret, refused after rotation
    except openai.APIStatusError as exc:
        attendee_bodies.append(exc.response.text)
    await chat(sdk(litellm_stack, new_key), CHAT)
    await user.call("POST", f"/keys/{created['id']}/revoke", 200)
    try:
        await chat(sdk(litellm_stack, new_key), CHAT)  # revoked
    except openai.APIStatusError as exc:
        attendee_bodies.append(exc.response.text)
    await scripted_client.aclose()

    secrets_ = {
        "user key": key,
        "rotated key": new_key,
        "admin token": admin_token,
        "user session": cookies[0],
        "admin session": cookies[1],
        "master key": litellm_stack.master_key,
    }
    shown_once = {
        id(r)
        for r in user.responses + admin.responses
        if r.request.method == "POST" and r.status_code in (200, 201) and ('"key":"' in r.text or '"token":"' in r.text)
    }
    assert len(shown_once) == 3  # key created, key rotated, token created

    # 1. Backend responses (bodies and headers other than the login's Set-Cookie).
    for response in user.responses + admin.responses + scripted.responses:
        if id(response) in shown_once:
            continue
        for name, secret in secrets_.items():
            assert secret not in response.text, f"{name} in {response.request.url}"

    # 2. Every row of both databases.
    ours = _all_rows(backend_database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    theirs = _all_rows(litellm_stack.litellm_database_url)
    assert created["id"] in ours and _sha256(key) in theirs  # the scan reads the right data
    for name, secret in secrets_.items():
        assert secret not in ours, f"{name} stored in the litemaas database"
        assert secret not in theirs, f"{name} stored in the litellm database"

    # 3. Logs: the backend's (captured) and the proxy's own log file.
    captured = capsys.readouterr()
    backend_logs = captured.out + captured.err + caplog.text
    proxy_log = litellm_stack.proxy.log_path.read_text(errors="replace")
    assert "api_key.rotate" in backend_logs and len(proxy_log) > 1000
    for name, secret in secrets_.items():
        assert secret not in backend_logs, f"{name} in the backend's logs"
        assert secret not in proxy_log, f"{name} in the proxy's log"

    # 4. What the attendee was told: no secret, and no key hash LiteLLM would accept as a bearer.
    hashes = [_sha256(key), _sha256(new_key), _sha256(litellm_stack.master_key)]
    for body in attendee_bodies:
        for name, secret in secrets_.items():
            assert secret not in body, f"{name} in an answer to the attendee: {body[:300]}"
        for digest in hashes:
            assert digest not in body, f"a key hash in an answer to the attendee: {body[:300]}"
    assert db_rows(backend_database_url, "SELECT count(*) FROM api_keys WHERE id = %s", created["id"]) == [(1,)]
