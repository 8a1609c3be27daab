"""Shared fixtures: real PostgreSQL, real Redis, real LiteLLM proxy processes and the simulator.

Nothing here mocks LiteLLM. The session-scoped ``litellm_stack`` runs the pinned LiteLLM proxy
on a fresh database (migrated by ``litemaas proxy migrate``'s code) with the offline Prisma
engine, in front of the model simulator serving the demo catalog.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("LITEMAAS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LITEMAAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOG_DIR = REPO / ".run" / "test-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def create_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s")


@dataclass
class SimulatorProcess:
    url: str
    proc: subprocess.Popen[bytes]


def start_simulator(*, latency_ms: float = 0.0, ttft_ms: float = 0.0) -> SimulatorProcess:
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / f"simulator-{port}.log", "ab")  # noqa: SIM115
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
    from litemaas.config import Settings
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


@pytest.fixture(scope="session")
def litellm_database() -> Iterator[str]:
    from litemaas.proxy_runtime.litellm_schema import migrate

    name = create_database("litellm_test")
    url = database_url(name)
    migrate(url)
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorProcess]:
    sim = start_simulator()
    yield sim
    sim.proc.terminate()
    sim.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def litellm_stack(litellm_database: str, simulator: SimulatorProcess) -> Iterator[LiteLLMStack]:
    from litemaas.proxy_runtime import prisma_client

    prisma_client.generate_client()
    master_key = "sk-test-master-" + secrets.token_hex(12)
    # LITEMAAS_TEST_LITELLM_CONFIG_DIR lets a developer run the suite against another config.
    config_dir = os.environ.get("LITEMAAS_TEST_LITELLM_CONFIG_DIR")
    proxy = start_proxy(
        db_url=litellm_database,
        master_key=master_key,
        simulator_url=simulator.url,
        config_dir=Path(config_dir) if config_dir else None,
        # Run LiteLLM's budget-reset job every 1-2 s instead of ~10 min, so budget_duration is testable.
        extra_env={"PROXY_BUDGET_RESCHEDULER_MIN_TIME": "1", "PROXY_BUDGET_RESCHEDULER_MAX_TIME": "2"},
    )
    admin = httpx.Client(base_url=proxy.url, headers={"Authorization": f"Bearer {master_key}"}, timeout=30.0)
    try:
        yield LiteLLMStack(
            proxy_url=proxy.url,
            master_key=master_key,
            simulator_url=simulator.url,
            litellm_database_url=litellm_database,
            proxy=proxy,
            simulator=simulator,
            admin=admin,
        )
    finally:
        admin.close()
        proxy.stop()
