"""``litemaas proxy``: prepare and supervise the real LiteLLM proxy.

Order matters and each step fails fast with a message an operator can act on:
settings (master key, database URL) → PostgreSQL reachable → LiteLLM migrations → Prisma client
→ rendered config → free port → LiteLLM process (which starts the engine sidecar through
prisma-client-py). LiteLLM runs in its own session and process group, so stopping it stops its
engine too, and dies with this supervisor even when it is SIGKILLed (``processes``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from litemaas.config import Settings, get_settings
from litemaas.proxy_runtime import prisma_client
from litemaas.proxy_runtime.processes import PortInUse, StopSignals, die_with_parent, ensure_port_free, stop_children

# SIGTERM gives LiteLLM this long to flush and disconnect its engine, then its group is SIGKILLed.
# Below `litemaas up`'s grace for this supervisor, so the supervisor always finishes the stop itself.
LITELLM_STOP_GRACE_S = 2.0
# LITELLM_PRISMA_COMMAND_TIMEOUT for the LiteLLM process (see build_launch); it must be > 0.
PRISMA_DIFF_TIMEOUT_S = "0.001"


class ProxyConfigError(RuntimeError):
    """The proxy cannot start with these settings; the message says why."""


@dataclass
class ProxyLaunch:
    """Everything needed to start one LiteLLM proxy process."""

    argv: list[str]
    env: dict[str, str]
    config_path: Path
    url: str
    extra: dict[str, Any] = field(default_factory=dict)


def check_master_key(settings: Settings) -> str:
    if settings.master_key is None or not settings.master_key.get_secret_value():
        raise ProxyConfigError("LITEMAAS_MASTER_KEY is not set (LiteLLM's master key, must start with 'sk-')")
    key = settings.master_key.get_secret_value()
    if not key.startswith("sk-"):
        raise ProxyConfigError("LITEMAAS_MASTER_KEY must start with 'sk-' (LiteLLM rejects other master keys)")
    return key


def check_database(url: str | None, timeout: float = 5.0) -> str:
    if not url:
        raise ProxyConfigError("LITEMAAS_LITELLM_DATABASE_URL is not set (PostgreSQL URL of LiteLLM's database)")
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        parts = urlsplit(url)
        where = f"{parts.hostname}:{parts.port or 5432}{parts.path}"
        # Never echo the URL itself: it may carry a password.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProxyConfigError(f"PostgreSQL for LiteLLM is unreachable at {where}: {reason}") from None
    return url


def render_config(settings: Settings, out_dir: Path) -> Path:
    """Write the effective LiteLLM config: litellm_config/config.yaml plus deployment wiring."""
    source = settings.litellm_config_dir / "config.yaml"
    if not source.exists():
        raise ProxyConfigError(f"LiteLLM config not found: {source}")
    config: dict[str, Any] = yaml.safe_load(source.read_text()) or {}
    general = config.setdefault("general_settings", {})
    general.setdefault("master_key", "os.environ/LITELLM_MASTER_KEY")
    general.setdefault("database_url", "os.environ/DATABASE_URL")
    # LiteMaaS creates models through /model/new; they must survive restarts and reach every replica.
    general.setdefault("store_model_in_db", True)
    if settings.redis_url:
        # Shared Redis makes TPM/RPM limits, spend counters and key-cache invalidation
        # hold across replicas (LiteLLM's "coordination Redis").
        general["coordination_redis"] = {"url": "os.environ/LITEMAAS_PROXY_REDIS_URL"}
        config.setdefault("litellm_settings", {})["enable_redis_auth_cache"] = True
        # LiteLLM 1.106.12's /key/delete evicts the key only from the replica that served it
        # (/key/block broadcasts); other replicas would keep admitting it for the default 60 s.
        # A short key-cache TTL bounds that to under a second across replicas, at the cost of
        # one Redis/DB key lookup per active key per replica per TTL.
        general.setdefault("user_api_key_cache_ttl", settings.proxy_key_cache_ttl_seconds)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "litellm-config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def build_launch(
    settings: Settings,
    *,
    port: int | None = None,
    state_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> ProxyLaunch:
    master_key = check_master_key(settings)
    db_url = check_database(settings.litellm_database_url)
    if prisma_client.resolve_mode(settings.prisma_engine) == "offline":
        prisma_client.check_engine_installed()
    port = port or settings.proxy_port
    state = state_dir or (settings.state_dir / f"proxy-{port}")
    config_path = render_config(settings, state)
    env = prisma_client.prisma_env(settings.prisma_engine)
    env.update(
        DATABASE_URL=db_url,
        LITELLM_MASTER_KEY=master_key,
        # LiteLLM applies no schema changes itself: `litemaas proxy migrate` did.
        DISABLE_SCHEMA_UPDATE="true",
        # With schema updates off, LiteLLM's start still runs `prisma migrate diff --from-url
        # <DATABASE_URL>` as a diagnostic: a Node CLI taking ~8 s of CPU before the proxy listens
        # (a third of the cold start on 2 cores), with the database password in its argv. In this
        # mode no other Prisma CLI command runs, and `litemaas proxy migrate` has already applied
        # and checked every migration, so the command gets no time: LiteLLM kills it at once and
        # goes on ("Timed out ... generating the migration diff" in its log).
        LITELLM_PRISMA_COMMAND_TIMEOUT=PRISMA_DIFF_TIMEOUT_S,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_DONT_SHOW_FEEDBACK_BOX="True",
        SIMULATOR_API_BASE=settings.simulator_url.rstrip("/") + "/v1",
        PYTHONUNBUFFERED="1",
    )
    if settings.salt_key is not None:
        env["LITELLM_SALT_KEY"] = settings.salt_key.get_secret_value()
    if settings.redis_url:
        env["LITEMAAS_PROXY_REDIS_URL"] = settings.redis_url
    hooks_parent = str(settings.hooks_dir.resolve())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (hooks_parent, env.get("PYTHONPATH", "")) if p)
    if extra_env:
        env.update(extra_env)
    litellm_bin = Path(sys.executable).parent / "litellm"
    argv = [
        str(litellm_bin),
        "--config",
        str(config_path),
        "--host",
        settings.proxy_host,
        "--port",
        str(port),
        "--num_workers",
        str(settings.proxy_workers),
    ]
    return ProxyLaunch(argv=argv, env=env, config_path=config_path, url=f"http://{settings.proxy_host}:{port}")


def start(launch: ProxyLaunch, *, log_path: Path | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start LiteLLM in a new session and process group (it and its engine sidecar stop together).

    LiteLLM is SIGKILLed by the kernel if this process dies: a SIGTERM would start a graceful
    shutdown that nobody supervises any more and that waits for open requests without limit.
    Its engine sidecar leaves by itself within a second of losing its parent (engine/server.mjs).
    """
    out = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed below, the child keeps its copy
    try:
        return subprocess.Popen(  # noqa: S603  argv built from our own paths and settings, no shell
            launch.argv,
            env=launch.env,
            cwd=str(cwd or launch.config_path.parent),
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGKILL),  # noqa: PLW1509 - see processes.die_with_parent
        )
    finally:
        if out is not None:
            out.close()


def stop(
    proc: subprocess.Popen[bytes], timeout: float = LITELLM_STOP_GRACE_S, signals: StopSignals | None = None
) -> int:
    """SIGTERM LiteLLM, SIGKILL its process group after ``timeout`` (engine, workers), reap; never blocks longer.

    Only LiteLLM itself gets the SIGTERM: on shutdown it flushes through its engine and then stops
    it, which a SIGTERM to the whole group would pre-empt.
    """
    stop_children([proc], grace=timeout, signals=signals, whole_group=False)
    return proc.returncode if proc.returncode is not None else -signal.SIGKILL


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 180.0) -> float:
    """Seconds until ``/health/readiness`` answers 200 (raises if the process dies or time runs out)."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc is not None and proc.poll() is not None:
            raise ProxyConfigError(f"LiteLLM exited with code {proc.returncode} before becoming ready")
        try:
            if httpx.get(f"{url}/health/readiness", timeout=2.0).status_code == HTTPStatus.OK:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise ProxyConfigError(f"LiteLLM did not become ready within {timeout:.0f}s")


def prepare(settings: Settings, *, migrate: bool = True) -> None:
    """Migrations and the Prisma client; both idempotent and safe across replicas."""
    if migrate:
        from litemaas.proxy_runtime.litellm_schema import migrate as apply_migrations

        apply_migrations(check_database(settings.litellm_database_url))
    prisma_client.generate_client(settings.prisma_engine)


def run_proxy(*, migrate: bool = True) -> int:
    settings = get_settings()
    try:
        check_master_key(settings)
        ensure_port_free(settings.proxy_host, settings.proxy_port, "LiteLLM proxy", "LITEMAAS_PROXY_PORT")
        check_database(settings.litellm_database_url)
        prepare(settings, migrate=migrate)
        launch = build_launch(settings)
        # Again just before the start: a LiteLLM that cannot bind would not fail at once, and a
        # readiness probe would then be answered by whatever holds the port.
        ensure_port_free(settings.proxy_host, settings.proxy_port, "LiteLLM proxy", "LITEMAAS_PROXY_PORT")
    except (ProxyConfigError, prisma_client.EngineSetupError, PortInUse) as exc:
        print(f"litemaas proxy: {exc}", file=sys.stderr)
        return 2
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with StopSignals() as signals:
        proc = start(launch, cwd=settings.state_dir)
        while proc.poll() is None and not signals.requested:
            signals.wait(1.0)
        started = time.monotonic()
        if signals.requested:
            print("litemaas proxy: stopping LiteLLM ...", file=sys.stderr, flush=True)
        code = stop(proc, signals=signals)
        if signals.requested:
            how = "killed: requests still open" if code == -signal.SIGKILL else "stopped"
            print(f"litemaas proxy: {how} after {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        return 0 if signals.requested else code
