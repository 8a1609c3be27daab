"""``litemaas up`` (``make run``): the whole stack on one machine.

With no database URL configured, an embedded PostgreSQL holds both databases (``litellm`` and
``litemaas``). Then the model simulator, the LiteLLM proxy (migrations, Prisma client, engine)
and the LiteMaaS backend start, each in its own process group, and Ctrl-C stops them in
reverse order. Children also die with this process (PR_SET_PDEATHSIG), so none is orphaned.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from litemaas.config import Settings, get_settings
from litemaas.kit.crypto import stored_secret


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path


def _die_with_parent() -> None:
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _spawn(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Child:
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)  # noqa: PLW1509 - set before any thread starts
    return Child(name=name, proc=proc, log_path=log_path)


def _wait(child: Child, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            tail = child.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{child.name} exited with code {child.proc.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{child.name} not ready at {url} after {timeout:.0f}s (log: {child.log_path})")


def _stop(child: Child, timeout: float = 20.0) -> None:
    if child.proc.poll() is None:
        try:
            os.killpg(child.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            child.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(child.proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def run_stack() -> int:
    settings = get_settings()
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    logs = state / "logs"
    children: list[Child] = []
    pg = None
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        env = dict(os.environ)
        litellm_db = settings.litellm_database_url
        if not litellm_db:
            from litemaas.proxy_runtime.embedded_pg import EmbeddedPostgres
            from litemaas.proxy_runtime.migrations import ensure_database

            pg = EmbeddedPostgres(state / "pgdata", port=settings.embedded_pg_port)
            print(f"starting embedded PostgreSQL on 127.0.0.1:{settings.embedded_pg_port} ...", flush=True)
            pg.start()
            if pg.upgraded_from_trust:
                print(f"embedded PostgreSQL now needs the password in {pg.password_file} (was: trust)", flush=True)
            for name in ("litellm", "litemaas"):
                ensure_database(pg.url(), name)
            litellm_db = pg.url("litellm")
            env["LITEMAAS_LITELLM_DATABASE_URL"] = litellm_db
            env.setdefault("LITEMAAS_DATABASE_URL", _asyncpg_url(pg.url("litemaas")))
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
        sim = _spawn("simulator", sim_argv, env, logs)
        children.append(sim)
        _wait(sim, f"{sim_url}/health", 60)
        print(f"model simulator   {sim_url}", flush=True)

        print("starting LiteLLM proxy (migrations, Prisma client, engine) ...", flush=True)
        proxy = _spawn("proxy", [py, "-m", "litemaas.cli", "proxy"], env, logs)
        children.append(proxy)
        _wait(proxy, f"http://127.0.0.1:{settings.proxy_port}/health/readiness", 300)
        print(f"LiteLLM proxy     http://127.0.0.1:{settings.proxy_port}  (OpenAI API at /v1)", flush=True)

        backend = _start_backend(settings, env, logs, py)
        if backend is not None:
            children.append(backend)
            _wait(backend, f"http://127.0.0.1:{settings.backend_port}/api/v1/health/live", 120)
            print(f"LiteMaaS portal   http://127.0.0.1:{settings.backend_port}  (development login)", flush=True)

        key_hint = master_key_file if settings.master_key is None else "LITEMAAS_MASTER_KEY"
        print(f"master key        {key_hint}", flush=True)
        if pg is not None:
            print(f"database password {pg.password_file} (user postgres)", flush=True)
        print(f"logs              {logs}", flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while True:
            for child in children:
                if child.proc.poll() is not None:
                    print(f"{child.name} exited with code {child.proc.returncode}; stopping (log: {child.log_path})")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        stopping = True
        return 0
    except Exception as exc:  # noqa: BLE001 - report and tear down
        print(f"litemaas up: {exc}", file=sys.stderr)
        return 1
    finally:
        if stopping:
            print("stopping ...", flush=True)
        for child in reversed(children):
            _stop(child)
        if pg is not None:
            pg.stop()


def _start_backend(settings: Settings, env: dict[str, str], logs: Path, py: str) -> Child | None:
    """The LiteMaaS backend, once its database is migrated (development login on a laptop)."""
    try:
        import litemaas.app  # noqa: F401
    except ImportError:
        return None
    backend_env = dict(env)
    backend_env.setdefault("LITEMAAS_DEV_LOGIN_ENABLED", "true")
    backend_env.setdefault("LITEMAAS_COOKIE_SECURE", "false")
    backend_env.setdefault("LITEMAAS_SESSION_SECRET", stored_secret(settings.state_dir / "session_secret", ""))
    upgrade = subprocess.run(
        [py, "-m", "litemaas.cli", "db", "upgrade"], env=backend_env, capture_output=True, text=True, check=False
    )
    if upgrade.returncode != 0:
        raise RuntimeError(f"litemaas db upgrade failed:\n{upgrade.stdout[-2000:]}\n{upgrade.stderr[-2000:]}")
    # Mirror the proxy's models into the catalog so a newcomer can subscribe straight away.
    sync = subprocess.run(
        [py, "-m", "litemaas.cli", "models", "sync"], env=backend_env, capture_output=True, text=True, check=False
    )
    if sync.returncode != 0:
        raise RuntimeError(f"litemaas models sync failed:\n{sync.stdout[-2000:]}\n{sync.stderr[-2000:]}")
    return _spawn(
        "backend",
        [py, "-m", "litemaas.cli", "serve", "--host", "127.0.0.1", "--port", str(settings.backend_port)],
        backend_env,
        logs,
    )
