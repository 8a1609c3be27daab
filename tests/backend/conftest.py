"""Backend fixtures: a fresh migrated database per test session, the app, logged-in clients.

Reusable by every backend domain's tests:

- ``backend_database_url``: session-scoped database created with ``alembic upgrade head``.
- ``settings``: ``Settings`` for that database, real Redis under a per-session key prefix,
  development login on, cookies not Secure (tests talk plain http to subprocesses).
- ``make_app(settings=None, overrides=None)``: async context manager running the app's
  lifespan, with ``overrides`` put in ``app.dependency_overrides`` (e.g. a LiteLLM admin
  client on a cuttable transport for ``get_optional_litellm_admin``); ``app`` is one started
  with the defaults.
- ``client``: anonymous ``httpx.AsyncClient`` on the app (ASGI transport).
- ``login(username=None, role="user")``: a new client logged in through the development login,
  with the session cookie and the ``X-CSRF-Token`` header set. ``user_client``,
  ``admin_client`` and ``readonly_client`` are ready-made ones.

Tests share the session database: name things uniquely (``unique("alice")``), never assume
empty tables.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
import redis as redis_sync
from fastapi import FastAPI
from pydantic import SecretStr

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litemaas.auth.permissions import Role
from litemaas.config import Settings
from tests.backend.backend_support import (
    BASE_URL,
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    OPENSHIFT_CLIENT_ID,
    OPENSHIFT_CLIENT_SECRET,
    PG_ADMIN_URL,
    REDIS_URL,
    REPO,
    BackendProcess,
    asgi_client,
    asyncpg_url,
    dev_login,
    free_port,
    unique,
)

__all__ = ["asgi_client", "dev_login", "unique"]


@pytest.fixture(scope="session")
def backend_database_url() -> Iterator[str]:
    """A fresh ``litemaas`` database for this test session, migrated to head."""
    from litemaas.migrations import upgrade

    name = f"litemaas_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = asyncpg_url(name)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix owned by this test session; its keys are deleted one by one at the end."""
    prefix = f"litemaas-test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis_sync.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def session_secret() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture
def settings(backend_database_url: str, redis_prefix: str, session_secret: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="development",
        database_url=backend_database_url,
        redis_url=REDIS_URL,
        redis_key_prefix=redis_prefix,
        session_secret=session_secret,
        dev_login_enabled=True,
        cookie_secure=False,
        public_url=BASE_URL,
        # Nothing listens here unless a test starts a proxy and overrides it.
        proxy_url=f"http://127.0.0.1:{free_port()}",
        master_key=None,
        log_json=True,
    )


MakeApp = Callable[..., AbstractAsyncContextManager[FastAPI]]


@pytest.fixture
def make_app(settings: Settings) -> MakeApp:
    from litemaas.app import create_app

    @asynccontextmanager
    async def factory(
        app_settings: Settings | None = None, overrides: Mapping[Callable[..., Any], Callable[..., Any]] | None = None
    ) -> AsyncIterator[FastAPI]:
        app = create_app(app_settings or settings)
        app.dependency_overrides.update(overrides or {})
        async with app.router.lifespan_context(app):
            yield app

    return factory


@pytest_asyncio.fixture
async def app(make_app: MakeApp) -> AsyncIterator[FastAPI]:
    async with make_app() as started:
        yield started


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


Login = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest_asyncio.fixture
async def login(app: FastAPI) -> AsyncIterator[Login]:
    clients: list[httpx.AsyncClient] = []

    async def _login(username: str | None = None, role: Role | str = Role.USER) -> httpx.AsyncClient:
        c = asgi_client(app)
        clients.append(c)
        return await dev_login(c, username or unique(str(role)), role)

    yield _login
    await asyncio.gather(*(c.aclose() for c in clients))


@pytest_asyncio.fixture
async def user_client(login: Login) -> httpx.AsyncClient:
    return await login(role=Role.USER)


@pytest_asyncio.fixture
async def admin_client(login: Login) -> httpx.AsyncClient:
    return await login(role=Role.ADMIN)


@pytest_asyncio.fixture
async def readonly_client(login: Login) -> httpx.AsyncClient:
    return await login(role=Role.ADMIN_READONLY)


# --- local identity provider -----------------------------------------------------------


@pytest.fixture(scope="session")
def idp() -> Iterator[Any]:
    """The local OpenShift OAuth + OIDC provider (a real HTTP server on a free port)."""
    from tests.idp.local_idp import LocalIdP

    server = LocalIdP()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def idp_settings(settings: Settings, idp: Any) -> Settings:
    """Settings with both OpenShift and OIDC login pointing at the local provider."""
    redirect_base = settings.public_url
    idp.register_client(OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, [redirect_base + "/auth/oidc/callback"])
    idp.register_client(OPENSHIFT_CLIENT_ID, OPENSHIFT_CLIENT_SECRET, [redirect_base + "/auth/openshift/callback"])
    idp.misbehave = None
    idp.groups_in_id_token = True
    idp.current_user = None
    return settings.model_copy(
        update={
            "openshift_api_url": idp.base_url,
            "openshift_client_id": OPENSHIFT_CLIENT_ID,
            "openshift_client_secret": SecretStr(OPENSHIFT_CLIENT_SECRET),
            "oidc_issuer": idp.issuer,
            "oidc_client_id": OIDC_CLIENT_ID,
            "oidc_client_secret": SecretStr(OIDC_CLIENT_SECRET),
        }
    )


# --- a second backend process ------------------------------------------------------------


@pytest.fixture(scope="session")
def backend_process(
    backend_database_url: str, redis_prefix: str, session_secret: str, idp, tmp_path_factory
) -> Iterator[BackendProcess]:
    """``litemaas serve`` in its own process on its own port (the second replica)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    idp.register_client(OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, [url + "/auth/oidc/callback"])
    idp.register_client(OPENSHIFT_CLIENT_ID, OPENSHIFT_CLIENT_SECRET, [url + "/auth/openshift/callback"])
    workdir = tmp_path_factory.mktemp("replica")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PYTHONPATH": str(REPO),
            "LITEMAAS_ENVIRONMENT": "development",
            "LITEMAAS_DATABASE_URL": backend_database_url,
            "LITEMAAS_REDIS_URL": REDIS_URL,
            "LITEMAAS_REDIS_KEY_PREFIX": redis_prefix,
            "LITEMAAS_SESSION_SECRET": session_secret,
            "LITEMAAS_DEV_LOGIN_ENABLED": "true",
            "LITEMAAS_COOKIE_SECURE": "false",
            "LITEMAAS_PUBLIC_URL": url,
            "LITEMAAS_PROXY_URL": f"http://127.0.0.1:{free_port()}",
            "LITEMAAS_OIDC_ISSUER": idp.issuer,
            "LITEMAAS_OIDC_CLIENT_ID": OIDC_CLIENT_ID,
            "LITEMAAS_OIDC_CLIENT_SECRET": OIDC_CLIENT_SECRET,
            "LITEMAAS_OPENSHIFT_API_URL": idp.base_url,
            "LITEMAAS_OPENSHIFT_CLIENT_ID": OPENSHIFT_CLIENT_ID,
            "LITEMAAS_OPENSHIFT_CLIENT_SECRET": OPENSHIFT_CLIENT_SECRET,
        }
    )
    log_path = workdir / "backend.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"backend exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/api/v1/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError("backend did not start")
        time.sleep(0.1)
    yield BackendProcess(url=url, proc=proc, log_path=log_path)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
