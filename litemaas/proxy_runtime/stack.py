"""``litemaas up`` (``make run``): the whole stack on one machine.

With no database URL configured, an embedded PostgreSQL holds both databases (``litellm`` and
``litemaas``). Then the model simulator, the LiteLLM proxy (migrations, Prisma client, engine)
and the LiteMaaS backend start, each in its own session. Every port is checked first: a taken
one stops ``up`` before anything starts (exit code 2).

Ctrl-C (or SIGTERM, SIGHUP) only sets a flag (``processes.StopSignals``); the main loop then
SIGTERMs the three servers together, SIGKILLs whatever is left of them after a grace period,
and stops PostgreSQL last, so the whole stop stays within a few seconds. If ``up`` itself is
killed, even with SIGKILL, the kernel signals every child (PR_SET_PDEATHSIG): the servers stop,
the proxy supervisor stops LiteLLM, and PostgreSQL shuts down immediately.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from litemaas.config import Settings, get_settings
from litemaas.kit.crypto import stored_secret
from litemaas.proxy_runtime.processes import PortInUse, StopSignals, die_with_parent, ensure_port_free, stop_children

if TYPE_CHECKING:
    from litemaas.proxy_runtime.embedded_pg import EmbeddedPostgres

# The servers get this long after SIGTERM; more than the proxy supervisor's own grace for LiteLLM
# (supervisor.LITELLM_STOP_GRACE_S), so that it finishes stopping LiteLLM and its engine itself.
SERVERS_STOP_GRACE_S = 2.5
# Open requests (a streaming playground answer) may delay the backend's stop by this much only,
# also when it stops on its own because `up` died.
BACKEND_GRACEFUL_TIMEOUT_S = 1


class StopRequested(Exception):
    """A stop signal arrived while the stack was starting."""


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path


def _spawn(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Child:
    """A server in its own session, SIGTERMed by the kernel when ``up`` dies (each stops within bounds)."""
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603  argv built from our own paths and settings, no shell
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),  # noqa: PLW1509 - see processes.die_with_parent
        )
    return Child(name=name, proc=proc, log_path=log_path)


def _wait(child: Child, url: str, timeout: float, signals: StopSignals) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if signals.requested:
            raise StopRequested
        if child.proc.poll() is not None:
            tail = child.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{child.name} exited with code {child.proc.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=1.0).status_code == HTTPStatus.OK:
                return
        except httpx.HTTPError:
            pass
        signals.wait(0.3)
    raise RuntimeError(f"{child.name} not ready at {url} after {timeout:.0f}s (log: {child.log_path})")


def _run_step(name: str, argv: list[str], env: dict[str, str], logs: Path, signals: StopSignals) -> None:
    """A one-off command (migrations, sync) supervised like a server: stoppable, and dies with ``up``."""
    step = _spawn(name, argv, env, logs)
    deadline = time.monotonic() + 600
    try:
        while step.proc.poll() is None:
            if signals.requested:
                raise StopRequested
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not finish within 600 s (log: {step.log_path})")
            signals.wait(0.5)
    finally:
        stop_children([step.proc], grace=1.0, signals=signals)
    if step.proc.returncode != 0:
        tail = step.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{name} failed (exit code {step.proc.returncode}):\n{tail}")


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _check_ports(settings: Settings) -> None:
    """Every port of the stack, before anything starts: a server that cannot bind must not be
    replaced silently by whatever answers on its port."""
    ports = [
        ("127.0.0.1", settings.simulator_port, "model simulator", "LITEMAAS_SIMULATOR_PORT"),
        (settings.proxy_host, settings.proxy_port, "LiteLLM proxy", "LITEMAAS_PROXY_PORT"),
        ("127.0.0.1", settings.backend_port, "LiteMaaS backend", "LITEMAAS_BACKEND_PORT"),
    ]
    if not settings.litellm_database_url:
        ports.append(("127.0.0.1", settings.embedded_pg_port, "embedded PostgreSQL", "LITEMAAS_EMBEDDED_PG_PORT"))
    for host, port, what, setting in ports:
        ensure_port_free(host, port, what, setting)


def run_stack() -> int:
    settings = get_settings()
    try:
        _check_ports(settings)
    except PortInUse as exc:
        print(f"litemaas up: {exc}", file=sys.stderr)
        return 2
    with StopSignals() as signals:
        stack = _Stack(settings, signals)
        try:
            stack.start()
            return stack.watch()
        except StopRequested:
            return 0
        except PortInUse as exc:
            print(f"litemaas up: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # noqa: BLE001 - report and tear down
            print(f"litemaas up: {exc}", file=sys.stderr)
            return 1
        finally:
            stack.stop()


class _Stack:
    """The processes of one ``litemaas up``, started in order and stopped together."""

    def __init__(self, settings: Settings, signals: StopSignals) -> None:
        self.settings = settings
        self.signals = signals
        self.logs = settings.state_dir / "logs"
        self.children: list[Child] = []
        self.pg: EmbeddedPostgres | None = None

    def start(self) -> None:  # noqa: PLR0915  the start sequence reads top to bottom; each step is one call
        settings, signals = self.settings, self.signals
        state = settings.state_dir
        state.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        litellm_db = settings.litellm_database_url
        if not litellm_db:
            from litemaas.proxy_runtime.embedded_pg import EmbeddedPostgres
            from litemaas.proxy_runtime.litellm_schema import ensure_database

            self.pg = pg = EmbeddedPostgres(state / "pgdata", port=settings.embedded_pg_port)
            print(f"starting embedded PostgreSQL on 127.0.0.1:{settings.embedded_pg_port} ...", flush=True)
            pg.start()
            if pg.upgraded_from_trust:
                print(f"embedded PostgreSQL now needs the password in {pg.password_file} (was: trust)", flush=True)
            for name in ("litellm", "litemaas"):
                ensure_database(pg.url(), name)
            litellm_db = pg.url("litellm")
            env["LITEMAAS_LITELLM_DATABASE_URL"] = litellm_db
            env.setdefault("LITEMAAS_DATABASE_URL", _asyncpg_url(pg.url("litemaas")))
        if signals.requested:
            raise StopRequested
        master_key_file = state / "master_key"
        if settings.master_key is None:
            env["LITEMAAS_MASTER_KEY"] = stored_secret(master_key_file, "sk-")
        if settings.salt_key is None:
            env["LITEMAAS_SALT_KEY"] = stored_secret(state / "salt_key", "sk-salt-")
        sim_url = f"http://127.0.0.1:{settings.simulator_port}"
        env["LITEMAAS_SIMULATOR_URL"] = sim_url
        env["LITEMAAS_PROXY_URL"] = f"http://127.0.0.1:{settings.proxy_port}"
        env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        py = sys.executable

        sim_argv = [py, "-m", "litemaas.cli", "simulator", "--port", str(settings.simulator_port)]
        sim = self._spawn("simulator", sim_argv, env)
        _wait(sim, f"{sim_url}/health", 60, signals)
        print(f"model simulator   {sim_url}", flush=True)

        print("starting LiteLLM proxy (migrations, Prisma client, engine) ...", flush=True)
        proxy = self._spawn("proxy", [py, "-m", "litemaas.cli", "proxy"], env)
        _wait(proxy, f"http://127.0.0.1:{settings.proxy_port}/health/readiness", 300, signals)
        print(f"LiteLLM proxy     http://127.0.0.1:{settings.proxy_port}  (OpenAI API at /v1)", flush=True)

        backend_env = _backend_env(settings, env)
        if backend_env is not None:
            # Migrated first; then the proxy's models mirrored into the catalog so a newcomer can
            # subscribe straight away.
            _run_step("db-upgrade", [py, "-m", "litemaas.cli", "db", "upgrade"], backend_env, self.logs, signals)
            _run_step("models-sync", [py, "-m", "litemaas.cli", "models", "sync"], backend_env, self.logs, signals)
            argv = [py, "-m", "litemaas.cli", "serve", "--host", "127.0.0.1", "--port", str(settings.backend_port)]
            argv += ["--graceful-timeout", str(BACKEND_GRACEFUL_TIMEOUT_S)]
            backend = self._spawn("backend", argv, backend_env)
            _wait(backend, f"http://127.0.0.1:{settings.backend_port}/api/v1/health/live", 120, signals)
            print(f"LiteMaaS portal   http://127.0.0.1:{settings.backend_port}  (development login)", flush=True)

        key_hint = master_key_file if settings.master_key is None else "LITEMAAS_MASTER_KEY"
        print(f"master key        {key_hint}", flush=True)
        if self.pg is not None:
            print(f"database password {self.pg.password_file} (user postgres)", flush=True)
        print(f"logs              {self.logs}", flush=True)
        print("Ctrl-C stops everything.", flush=True)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = _spawn(name, argv, env, self.logs)
        self.children.append(child)
        return child

    def watch(self) -> int:
        """Until a stop signal (exit code 0) or a server's exit (1)."""
        while not self.signals.requested:
            for child in self.children:
                if child.proc.poll() is not None:
                    print(f"{child.name} exited with code {child.proc.returncode}; stopping (log: {child.log_path})")
                    return 1
            self.signals.wait(1.0)
        return 0

    def stop(self) -> None:
        """The servers together (SIGTERM, grace, SIGKILL), then PostgreSQL; each wait bounded."""
        started = time.monotonic()
        if self.signals.requested:
            print("stopping ...", flush=True)
        stop_children([c.proc for c in self.children], grace=SERVERS_STOP_GRACE_S, signals=self.signals)
        if self.pg is not None:
            self.pg.stop()
        if self.signals.requested:
            print(f"stopped in {time.monotonic() - started:.1f} s", flush=True)


def _backend_env(settings: Settings, env: dict[str, str]) -> dict[str, str] | None:
    """The LiteMaaS backend's environment (development login on a laptop); None without the app."""
    # Looked up, not imported: `up` stays a small process that starts and exits fast.
    if importlib.util.find_spec("litemaas.app") is None:
        return None
    backend_env = dict(env)
    backend_env.setdefault("LITEMAAS_DEV_LOGIN_ENABLED", "true")
    backend_env.setdefault("LITEMAAS_COOKIE_SECURE", "false")
    backend_env.setdefault("LITEMAAS_SESSION_SECRET", stored_secret(settings.state_dir / "session_secret", ""))
    return backend_env
