"""First login creates the user once (even concurrently) and provisions it in LiteLLM.

The LiteLLM side is the session's real proxy (``litellm_stack``), reached through a
``CuttableTransport`` so a test can take it away at login time. Tests that need no proxy use
``backend_app`` (``app`` in this folder is the backend wired to the proxy).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select

from litemaas.db import Session, session_scope
from litemaas.litellm_admin import LITELLM_USER_ROLE, LiteLLMAdminClient
from litemaas.models.user import User
from tests.support.backend import asgi_client, dev_login, unique
from tests.support.stack import CHAT, CuttableTransport, LiteLLMStack, chat, make_stack_app, sdk, token_hash


@dataclass
class Stack:
    app: FastAPI
    transport: CuttableTransport
    litellm: LiteLLMAdminClient
    proxy: LiteLLMStack

    def litellm_users(self, user_id: str) -> list[tuple[Any, ...]]:
        """The user's rows in LiteLLM's own database."""
        with self.proxy.db() as conn:
            return list(
                conn.execute(
                    'SELECT user_id, user_alias FROM "LiteLLM_UserTable" WHERE user_id = %s', (user_id,)
                ).fetchall()
            )


@pytest_asyncio.fixture
async def stack(
    make_app: Any, settings: Any, litellm_stack: Any, litellm_admin: LiteLLMAdminClient, transport: CuttableTransport
) -> AsyncIterator[Stack]:
    """The app wired to the real LiteLLM proxy (users provisioned there at login), catalog not synced."""
    async with make_stack_app(make_app, settings, litellm_stack, litellm_admin) as app:
        yield Stack(app=app, transport=transport, litellm=litellm_admin, proxy=litellm_stack)


async def _synced_at(app: FastAPI, username: str) -> Any:
    async with app.state.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user.litellm_synced_at


async def test_concurrent_first_logins_create_one_user(backend_app):
    username = unique("burst")
    clients = [asgi_client(backend_app) for _ in range(8)]
    try:
        await asyncio.gather(*(dev_login(c, username, "user") for c in clients))
        ids = {(await c.get("/api/v1/auth/me")).json()["user_id"] for c in clients}
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    assert len(ids) == 1
    async with backend_app.state.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(User).where(User.username == username))
    assert count == 1


async def test_first_login_provisions_the_litellm_user_once(stack: Stack) -> None:
    username = unique("new")
    user_ids = set()
    for _ in range(2):
        async with asgi_client(stack.app) as c:
            await dev_login(c, username)
            user_ids.add((await c.get("/api/v1/auth/me")).json()["user_id"])
    (user_id,) = user_ids
    assert stack.transport.calls.count("POST /user/new") == 1
    assert stack.litellm_users(user_id) == [(user_id, username)]
    info = await stack.litellm.user_info(user_id)
    assert info.metadata["managed_by"] == "litemaas" and info.user_role == LITELLM_USER_ROLE == "internal_user_viewer"
    assert await _synced_at(stack.app, username) is not None


async def test_litellm_down_does_not_block_login_and_is_retried(stack: Stack) -> None:
    username = unique("retry")
    stack.transport.cut()
    async with asgi_client(stack.app) as c:
        await dev_login(c, username)
        me = await c.get("/api/v1/auth/me")
    stack.transport.restore()
    assert me.status_code == 200
    user_id = me.json()["user_id"]
    assert await _synced_at(stack.app, username) is None
    assert stack.litellm_users(user_id) == []

    stack.transport.calls.clear()
    async with asgi_client(stack.app) as c:
        await dev_login(c, username)
    assert stack.transport.calls.count("POST /user/new") == 1
    assert stack.litellm_users(user_id) == [(user_id, username)]
    assert await _synced_at(stack.app, username) is not None


def test_request_session_commits_before_the_response_is_sent():
    dependency = Session.__metadata__[0]
    assert dependency.scope == "function"


async def test_username_owned_by_another_identity_is_refused(backend_app, idp_settings, idp, make_app):
    """An OIDC user cannot take over an existing (dev or OpenShift) user's name."""
    from tests.support.backend import browser

    username = unique("taken")
    async with asgi_client(backend_app) as c:
        await dev_login(c, username, "admin")
    idp.login_as(username)
    async with make_app(idp_settings) as oidc_app, browser(oidc_app) as b:
        response = await b.get("/auth/oidc/start")
        assert response.url.params["error"] == "username_taken"
        assert (await b.get("/api/v1/auth/me")).status_code == 401


async def test_deactivation_goes_through_the_key_blocking_hook(stack: Stack) -> None:
    """Deactivation blocks the user's live keys at the proxy; reactivation unblocks them."""
    async with asgi_client(stack.app) as admin, asgi_client(stack.app) as target:
        await dev_login(admin, unique("admin"), "admin")
        assert (await admin.post("/api/v1/admin/models/sync")).status_code == 200
        await dev_login(target, unique("leaver"))
        target_id = (await target.get("/api/v1/auth/me")).json()["user_id"]
        assert (await target.post("/api/v1/subscriptions", json={"model": CHAT})).status_code == 201
        keys = []
        for alias in ("laptop", "ci", "old"):
            created = await target.post("/api/v1/keys", json={"alias": alias, "models": [CHAT]})
            assert created.status_code == 201, created.text
            keys.append(created.json())
        revoked = await target.post(f"/api/v1/keys/{keys[2]['id']}/revoke")
        assert revoked.status_code == 200, revoked.text
        live = keys[:2]
        for key in live:
            assert (await chat(sdk(stack.proxy, key["key"]))).choices

        r = await admin.put(f"/api/v1/admin/users/{target_id}/active", json={"is_active": False})
        assert r.status_code == 200, r.text
        for key in live:
            with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
                await chat(sdk(stack.proxy, key["key"]))
            assert (await stack.litellm.key_info(token_hash(key["key"]))).blocked is True
        audit = (
            await admin.get("/api/v1/admin/audit", params={"target_id": target_id, "action": "user.deactivate"})
        ).json()
        assert audit["items"][0]["after"]["litellm_keys_blocked"] == len(live)

        r = await admin.put(f"/api/v1/admin/users/{target_id}/active", json={"is_active": True})
        assert r.status_code == 200, r.text
        for key in live:
            assert (await chat(sdk(stack.proxy, key["key"]))).choices
        audit = (
            await admin.get("/api/v1/admin/audit", params={"target_id": target_id, "action": "user.activate"})
        ).json()
        assert audit["items"][0]["after"]["litellm_keys_unblocked"] == len(live)


async def test_failed_key_blocking_leaves_the_user_unchanged(backend_app):
    """LiteLLM unreachable while deactivating: 503, and the user stays active here."""
    from litemaas.audit.service import SystemActor
    from litemaas.errors import UpstreamUnavailable
    from litemaas.users import service
    from tests.support.backend import free_port

    username = unique("stay")
    async with asgi_client(backend_app) as c:
        await dev_login(c, username)

    # A real client; nothing listens on its port, so every call fails to connect.
    async with LiteLLMAdminClient(f"http://127.0.0.1:{free_port()}", "sk-unused", retries=0) as litellm_down:
        with pytest.raises(UpstreamUnavailable):
            async with session_scope(backend_app.state.sessionmaker) as session:
                user = await service.find_user(session, username)
                await service.set_active(
                    session,
                    actor=SystemActor("test"),
                    user=user,
                    active=False,
                    cache=backend_app.state.user_cache,
                    litellm=litellm_down,
                )
    async with backend_app.state.sessionmaker() as session:
        assert (await service.find_user(session, username)).is_active is True


async def test_cli_deactivation_blocks_the_users_keys_at_the_proxy(
    stack: Stack, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`litemaas users deactivate|activate` reach LiteLLM through the command runner's own client."""
    from typer.testing import CliRunner

    from litemaas.cli import app as cli
    from litemaas.config import get_settings

    username = unique("cli-leaver")
    async with asgi_client(stack.app) as admin, asgi_client(stack.app) as target:
        await dev_login(admin, unique("admin"), "admin")
        assert (await admin.post("/api/v1/admin/models/sync")).status_code == 200
        await dev_login(target, username)
        assert (await target.post("/api/v1/subscriptions", json={"model": CHAT})).status_code == 201
        created = await target.post("/api/v1/keys", json={"alias": "laptop", "models": [CHAT]})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
    assert (await chat(sdk(stack.proxy, key))).choices

    for name, value in {
        "LITEMAAS_DATABASE_URL": settings.database_url,
        "LITEMAAS_REDIS_URL": settings.redis_url,
        "LITEMAAS_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "LITEMAAS_PROXY_URL": stack.proxy.proxy_url,
        "LITEMAAS_MASTER_KEY": stack.proxy.master_key,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        # The command runs its own event loop: off this test's loop.
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["users", "deactivate", username])
        assert result.exit_code == 0, result.output
        with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
            await chat(sdk(stack.proxy, key))
        assert (await stack.litellm.key_info(token_hash(key))).blocked is True

        result = await asyncio.to_thread(CliRunner().invoke, cli, ["users", "activate", username])
        assert result.exit_code == 0, result.output
        assert (await chat(sdk(stack.proxy, key))).choices
    finally:
        get_settings.cache_clear()
