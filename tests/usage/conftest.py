"""Usage fixtures: the backend wired to the session's real LiteLLM proxy *and* its database.

``app`` here reads LiteLLM's daily spend from the proxy's own database (as ``make run`` does) and
has the demo catalog synced; the grace period is 0, so yesterday is settled at midnight.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from litemaas.config import Settings
from litemaas.litellm_admin import LiteLLMAdminClient
from tests.backend.backend_support import REDIS_URL, asgi_client, dev_login, free_port
from tests.e2e.fixtures import *  # noqa: F403  shared fixtures; a pytest plugin module replaces this (issue 14, item 8)
from tests.e2e.support import make_stack_app


@pytest.fixture
def usage_settings(settings: Settings, litellm_stack: Any) -> Settings:
    return settings.model_copy(
        update={"litellm_database_url": litellm_stack.litellm_database_url, "usage_grace_seconds": 0}
    )


@pytest_asyncio.fixture
async def app(
    make_app: Any, usage_settings: Settings, litellm_stack: Any, litellm_admin: LiteLLMAdminClient
) -> AsyncIterator[FastAPI]:
    async with make_stack_app(make_app, usage_settings, litellm_stack, litellm_admin) as started:
        async with asgi_client(started) as admin:
            await dev_login(admin, f"sync-admin-{uuid.uuid4().hex[:8]}", "admin")
            response = await admin.post("/api/v1/admin/models/sync")
            assert response.status_code == 200, response.text
        yield started


@dataclass
class UsageServer:
    """``litemaas serve`` in its own process, on the test databases."""

    url: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]


def usage_env(backend_database_url: str, litellm_stack: Any, redis_prefix: str, session_secret: str) -> dict[str, str]:
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PYTHONPATH": str(repo),
            "LITEMAAS_ENVIRONMENT": "development",
            "LITEMAAS_DATABASE_URL": backend_database_url,
            "LITEMAAS_LITELLM_DATABASE_URL": litellm_stack.litellm_database_url,
            "LITEMAAS_REDIS_URL": REDIS_URL,
            "LITEMAAS_REDIS_KEY_PREFIX": redis_prefix,
            "LITEMAAS_SESSION_SECRET": session_secret,
            "LITEMAAS_DEV_LOGIN_ENABLED": "true",
            "LITEMAAS_COOKIE_SECURE": "false",
            "LITEMAAS_PROXY_URL": litellm_stack.proxy_url,
            "LITEMAAS_USAGE_GRACE_SECONDS": "0",
            "LITEMAAS_LOG_JSON": "true",
        }
    )
    return env


@pytest.fixture(scope="session")
def usage_server(
    backend_database_url: str, litellm_stack: Any, redis_prefix: str, session_secret: str, tmp_path_factory: Any
) -> Iterator[UsageServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = usage_env(backend_database_url, litellm_stack, redis_prefix, session_secret)
    env["LITEMAAS_PUBLIC_URL"] = url
    log_path = tmp_path_factory.mktemp("usage-server") / "backend.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "serve", "--port", str(port)],
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
    try:
        yield UsageServer(url=url, proc=proc, env=env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
