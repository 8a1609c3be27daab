"""Usage fixtures: the backend wired to the session's real LiteLLM proxy *and* its database.

``app`` here reads LiteLLM's daily spend from the proxy's own database (as ``make run`` does) and
has the demo catalog synced; the grace period is 0, so yesterday is settled at midnight.
``usage_server`` is ``litemaas serve`` in its own process on the same databases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI

from litemaas.config import Settings
from litemaas.litellm_admin import LiteLLMAdminClient
from tests.support.backend import BackendProcess, free_port, start_backend
from tests.support.stack import started_stack_app
from tests.usage.support import usage_env


@pytest.fixture
def usage_settings(settings: Settings, litellm_stack: Any) -> Settings:
    return settings.model_copy(
        update={"litellm_database_url": litellm_stack.litellm_database_url, "usage_grace_seconds": 0}
    )


@pytest_asyncio.fixture
async def app(
    make_app: Any, usage_settings: Settings, litellm_stack: Any, litellm_admin: LiteLLMAdminClient
) -> AsyncIterator[FastAPI]:
    async with started_stack_app(make_app, usage_settings, litellm_stack, litellm_admin) as started:
        yield started


@pytest.fixture(scope="session")
def usage_server(
    backend_database_url: str,
    litellm_stack: Any,
    redis_prefix: str,
    session_secret: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BackendProcess]:
    port = free_port()
    env = usage_env(backend_database_url, litellm_stack, redis_prefix, session_secret)
    env["LITEMAAS_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    server = start_backend(env, port, tmp_path_factory.mktemp("usage-server") / "backend.log")
    try:
        yield server
    finally:
        server.stop()
