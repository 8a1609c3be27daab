"""First login creates the user once (even concurrently) and provisions it in LiteLLM."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from litemaas.db import Session, session_scope
from litemaas.models.user import User
from tests.backend.backend_support import asgi_client, dev_login, unique


class RecordingProvisioner:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    async def ensure_user(self, user: User) -> None:
        self.calls.append(user.username)
        if self.fail:
            raise ConnectionError("LiteLLM is down")


async def test_concurrent_first_logins_create_one_user(app):
    username = unique("burst")
    clients = [asgi_client(app) for _ in range(8)]
    try:
        await asyncio.gather(*(dev_login(c, username, "user") for c in clients))
        ids = {(await c.get("/api/v1/auth/me")).json()["user_id"] for c in clients}
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    assert len(ids) == 1
    async with app.state.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(User).where(User.username == username))
    assert count == 1


async def test_first_login_provisions_the_litellm_user_once(make_app):
    provisioner = RecordingProvisioner()
    async with make_app(user_provisioner=provisioner) as app:
        username = unique("new")
        for _ in range(2):
            async with asgi_client(app) as c:
                await dev_login(c, username)
        assert provisioner.calls == [username]


async def test_litellm_down_does_not_block_login_and_is_retried(make_app):
    username = unique("retry")
    failing = RecordingProvisioner(fail=True)
    async with make_app(user_provisioner=failing) as app, asgi_client(app) as c:
        await dev_login(c, username)
        assert (await c.get("/api/v1/auth/me")).status_code == 200
        async with app.state.sessionmaker() as session:
            user = await session.scalar(select(User).where(User.username == username))
            assert user is not None and user.litellm_synced_at is None
    working = RecordingProvisioner()
    async with make_app(user_provisioner=working) as app, asgi_client(app) as c:
        await dev_login(c, username)
        assert working.calls == [username]


def test_request_session_commits_before_the_response_is_sent():
    dependency = Session.__metadata__[0]
    assert dependency.scope == "function"


async def test_username_owned_by_another_identity_is_refused(app, idp_settings, idp, make_app):
    """An OIDC user cannot take over an existing (dev or OpenShift) user's name."""
    from tests.backend.backend_support import browser

    username = unique("taken")
    async with asgi_client(app) as c:
        await dev_login(c, username, "admin")
    idp.login_as(username)
    async with make_app(idp_settings) as oidc_app, browser(oidc_app) as b:
        response = await b.get("/auth/oidc/start")
        assert response.url.params["error"] == "username_taken"
        assert (await b.get("/api/v1/auth/me")).status_code == 401


async def test_failed_key_blocking_leaves_the_user_unchanged(app):
    from litemaas.audit.service import SystemActor
    from litemaas.errors import UpstreamUnavailable
    from litemaas.users import service

    username = unique("stay")
    async with asgi_client(app) as c:
        await dev_login(c, username)

    async def litellm_down(user_id, active):
        raise UpstreamUnavailable("LiteLLM is unavailable")

    with pytest.raises(UpstreamUnavailable):
        async with session_scope(app.state.sessionmaker) as session:
            user = await service.find_user(session, username)
            await service.set_active(
                session,
                actor=SystemActor("test"),
                user=user,
                active=False,
                cache=app.state.user_cache,
                key_access=litellm_down,
            )
    async with app.state.sessionmaker() as session:
        assert (await service.find_user(session, username)).is_active is True
