"""The real LiteLLM stack for tests: its processes, the model names, and how the app is wired to it.

- ``start_simulator`` / ``start_proxy``: the model simulator and a LiteLLM proxy as processes
  (``ProxyProcess.stop`` stops it and its engine); ``LiteLLMStack`` is the session's pair
  (fixture ``litellm_stack`` in ``tests/fixtures/stack.py``).
- ``CuttableTransport`` sits between our admin client and the proxy so a test can make LiteLLM
  unreachable at an exact point of an operation (the proxy keeps running for the other tests).
- ``stack_settings`` / ``make_stack_app`` / ``started_stack_app``: the backend talking to that proxy.
- ``sdk`` / ``chat``: the OpenAI SDK with a virtual key; ``Api``: REST helpers for a logged-in
  client; ``db_rows`` / ``db_dump``: rows straight from the LiteMaaS database.

Nothing about LiteLLM is mocked.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
from fastapi import FastAPI
from pydantic import SecretStr

from litemaas.config import Settings
from litemaas.litellm_admin import LiteLLMAdminClient, token_hash
from litemaas.litellm_admin.dependencies import get_optional_litellm_admin
from tests.support.backend import asgi_client, dev_login
from tests.support.services import (
    LOG_DIR,
    PG_ADMIN_URL,
    REDIS_URL,
    REPO,
    create_database,
    database_url,
    drop_database,
    free_port,
    wait_http,
)

# Also re-exported: the services' names and ``token_hash``, so stack tests import from one place.
__all__ = [
    "CHAT",
    "CHAT_2",
    "CHAT_3",
    "CODE",
    "DOCLING",
    "EMBED",
    "GUARD",
    "LOG_DIR",
    "PG_ADMIN_URL",
    "REDIS_URL",
    "REPO",
    "Api",
    "CuttableTransport",
    "LiteLLMStack",
    "ProxyProcess",
    "SimulatorProcess",
    "api",
    "chat",
    "close_sdk_clients",
    "create_database",
    "database_url",
    "db_dump",
    "db_rows",
    "drop_database",
    "free_port",
    "make_stack_app",
    "new_model",
    "sdk",
    "stack_settings",
    "start_proxy",
    "start_simulator",
    "started_stack_app",
    "token_hash",
    "wait_http",
]


@dataclass
class SimulatorProcess:
    url: str
    proc: subprocess.Popen[bytes]


def start_simulator(*, latency_ms: float = 0.0, ttft_ms: float = 0.0) -> SimulatorProcess:
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"simulator-{port}.log", "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "litemaas.cli",
                "simulator",
                "--port",
                str(port),
                "--latency-ms",
                str(latency_ms),
                "--ttft-ms",
                str(ttft_ms),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", proc)
    return SimulatorProcess(url=url, proc=proc)


@dataclass
class ProxyProcess:
    """One running LiteLLM proxy (and, through prisma-client-py, its engine sidecar)."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    ready_seconds: float

    def stop(self) -> None:
        from litemaas.proxy_runtime import supervisor

        supervisor.stop(self.proc)


def start_proxy(
    *,
    db_url: str,
    master_key: str,
    simulator_url: str,
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    config_dir: Path | None = None,
    hooks_dir: Path | None = None,
) -> ProxyProcess:
    from litemaas.proxy_runtime import supervisor

    port = free_port()
    overrides: dict[str, Any] = {
        "master_key": master_key,
        "salt_key": "sk-test-salt-" + secrets.token_hex(8),
        "litellm_database_url": db_url,
        "redis_url": redis_url,
        "simulator_url": simulator_url,
        "proxy_port": port,
    }
    if config_dir is not None:
        overrides["litellm_config_dir"] = config_dir
    if hooks_dir is not None:
        overrides["hooks_dir"] = hooks_dir
    settings = Settings(**overrides)
    state = REPO / ".run" / "test-proxies" / f"proxy-{port}"
    launch = supervisor.build_launch(settings, port=port, state_dir=state, extra_env=extra_env)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"proxy-{port}.log"
    proc = supervisor.start(launch, log_path=log_path)
    try:
        ready = supervisor.wait_ready(
            launch.url, proc, timeout=float(os.environ.get("LITEMAAS_TEST_PROXY_START_TIMEOUT", "240"))
        )
    except Exception:  # noqa: BLE001 - any start failure: stop it and show the log
        supervisor.stop(proc)
        tail = log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"LiteLLM proxy failed to start; log tail:\n{tail}") from None
    return ProxyProcess(url=launch.url, proc=proc, log_path=log_path, ready_seconds=ready)


@dataclass
class LiteLLMStack:
    """The session's real proxy + simulator; ``admin`` is an httpx client with the master key."""

    proxy_url: str
    master_key: str
    simulator_url: str
    litellm_database_url: str
    proxy: ProxyProcess
    simulator: SimulatorProcess
    admin: httpx.Client = field(repr=False)

    def generate_key(self, **body: Any) -> dict[str, Any]:
        """POST /key/generate with the master key; returns LiteLLM's JSON (``key`` is the secret)."""
        resp = self.admin.post("/key/generate", json=body)
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()
        return data

    def db(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.litellm_database_url, autocommit=True)


CHAT = "granite-3-2-8b-instruct"
CHAT_2 = "granite-4-0-h-tiny"
CHAT_3 = "llama-scout-17b"
CODE = "codellama-7b-instruct"
EMBED = "nomic-embed-text-v1-5"
DOCLING = "granite-docling-258m"
GUARD = "llama-guard-3-1b"  # restricted in the demo catalog


class CuttableTransport(httpx.AsyncBaseTransport):
    """The real HTTP transport, until ``cut()``: then every request fails as if LiteLLM had stopped.

    ``cut_after(path_fragment, times=1)`` lets that many matching requests through and cuts the
    connection for everything after them (the request that trips it included); with
    ``failures=n`` only n requests fail from there on (a blip, not an outage).
    """

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0)
        self.down = False
        self._after: tuple[str, int] | None = None
        self._failures: int | None = None
        self._lose: str | None = None
        self._lose_skip = 0
        # ``calls``: requests that reached LiteLLM; ``attempts``: every request, cut ones too.
        self.calls: list[str] = []
        self.attempts: list[str] = []

    def cut(self) -> None:
        self.down = True

    def restore(self) -> None:
        self.down = False
        self._after = None
        self._failures = None

    def cut_after(self, path_fragment: str, times: int = 1, *, failures: int | None = None) -> None:
        self._after = (path_fragment, times)
        self._failures = failures

    def lose_response_of(self, path_fragment: str, *, skip: int = 0) -> None:
        """The next matching request (after ``skip`` answered ones) reaches LiteLLM, but its answer is lost."""
        self._lose = path_fragment
        self._lose_skip = skip

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.attempts.append(f"{request.method} {path}")
        if self.down:
            if self._failures is not None:
                self._failures -= 1
                self.down = self._failures > 0
            raise httpx.ConnectError("LiteLLM stopped (test)", request=request)
        if self._after is not None and self._after[0] in path:
            fragment, remaining = self._after
            if remaining <= 0:
                self._after = None
                if self._failures is not None:
                    self._failures -= 1
                self.down = self._failures is None or self._failures > 0
                raise httpx.ConnectError("LiteLLM stopped (test)", request=request)
            self._after = (fragment, remaining - 1)
        self.calls.append(f"{request.method} {path}")
        response = await self._inner.handle_async_request(request)
        if self._lose is not None and self._lose in path and self._lose_skip > 0:
            self._lose_skip -= 1
        elif self._lose is not None and self._lose in path:
            self._lose = None
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("connection lost before the answer arrived (test)", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def stack_settings(settings: Settings, litellm_stack: Any) -> Settings:
    return settings.model_copy(
        update={"proxy_url": litellm_stack.proxy_url, "master_key": SecretStr(litellm_stack.master_key)}
    )


def make_stack_app(make_app: Any, settings: Settings, litellm_stack: Any, client: LiteLLMAdminClient) -> Any:
    # The lifespan builds its own client for the same proxy; routes get this one, whose
    # transport a test can cut.
    return make_app(
        stack_settings(settings, litellm_stack),
        overrides={get_optional_litellm_admin: lambda: client},
    )


@asynccontextmanager
async def started_stack_app(
    make_app: Any, settings: Settings, litellm_stack: Any, client: LiteLLMAdminClient
) -> AsyncIterator[FastAPI]:
    """The backend wired to the real proxy (``make_stack_app``), with the demo catalog synced."""
    async with make_stack_app(make_app, settings, litellm_stack, client) as started:
        async with asgi_client(started) as admin:
            await dev_login(admin, f"sync-admin-{uuid.uuid4().hex[:8]}", "admin")
            response = await admin.post("/api/v1/admin/models/sync")
            assert response.status_code == 200, response.text
        yield started


_open_sdk_clients: list[openai.AsyncOpenAI] = []


def sdk(litellm_stack: Any, key: str) -> openai.AsyncOpenAI:
    """The OpenAI SDK pointed at the proxy with a virtual key (no retries, so limits show).

    Closed after the test by ``close_sdk_clients`` (an autouse fixture in ``tests/fixtures/stack.py``).
    """
    client = openai.AsyncOpenAI(base_url=f"{litellm_stack.proxy_url}/v1", api_key=key, max_retries=0, timeout=30)
    _open_sdk_clients.append(client)
    return client


async def close_sdk_clients() -> None:
    """Close every client ``sdk`` made (their connections would otherwise be left to the garbage collector)."""
    while _open_sdk_clients:
        await _open_sdk_clients.pop().close()


async def chat(client: openai.AsyncOpenAI, model: str = CHAT, text: str = "hello") -> Any:
    return await client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


@dataclass
class Api:
    """Thin helpers over the REST API for one logged-in client."""

    client: httpx.AsyncClient
    responses: list[httpx.Response] = field(default_factory=list)

    async def call(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> httpx.Response:
        response = await self.client.request(method, "/api/v1" + path, **kwargs)
        self.responses.append(response)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    async def me(self) -> dict[str, Any]:
        data: dict[str, Any] = (await self.call("GET", "/auth/me", 200)).json()
        return data

    async def subscribe(self, model: str, expect: int | None = 201) -> dict[str, Any]:
        data: dict[str, Any] = (await self.call("POST", "/subscriptions", expect, json={"model": model})).json()
        return data

    async def create_key(self, models: list[str], expect: int | None = 201, **body: Any) -> dict[str, Any]:
        body.setdefault("alias", f"key-{uuid.uuid4().hex[:8]}")
        data: dict[str, Any] = (await self.call("POST", "/keys", expect, json={"models": models, **body})).json()
        return data

    async def decide(self, sub_id: str, action: str, reason: str | None = None, expect: int | None = 200) -> Any:
        body = {"reason": reason} if reason else None
        return (await self.call("POST", f"/admin/subscriptions/{sub_id}/{action}", expect, json=body)).json()


def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


async def new_model(admin: Api, litellm_stack: Any, *, restricted: bool = False, prefix: str = "test-chat") -> str:
    """A fresh chat model (stored in LiteLLM's database) so a test can restrict or delete it alone."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await admin.call(
        "POST",
        "/admin/models",
        201,
        json={
            "name": name,
            "litellm_params": {
                "model": "hosted_vllm/ibm-granite/granite-3.2-8b-instruct",
                "api_base": f"{litellm_stack.simulator_url}/v1",
            },
            "display_name": f"Test model {name}",
            "capabilities": ["chat", "tokenize"],
            "context_length": 8192,
            "input_price_per_million": 0.2,
            "output_price_per_million": 0.6,
            "restricted": restricted,
        },
    )
    return name


def _sync_url(async_url: str) -> str:
    return async_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def db_rows(async_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the LiteMaaS database (bypassing the API)."""
    import psycopg

    with psycopg.connect(_sync_url(async_url)) as conn:
        return list(conn.execute(sql, params).fetchall())


def db_dump(async_url: str, table: str) -> str:
    """Every row of ``table`` as text, to search for secrets."""
    return "\n".join(str(row) for row in db_rows(async_url, f"SELECT t::text FROM {table} t"))
