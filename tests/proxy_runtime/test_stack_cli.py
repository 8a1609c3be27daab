"""`litemaas proxy` fails fast with clear messages; `litemaas up` runs and stops the whole stack.

Stopping is proven from outside: after Ctrl-C (or SIGKILL of the parent) no process of the run is
left (descendants, their sessions, anything started from the state dir, PostgreSQL included) and
every port refuses TCP connections.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import psutil
import pytest

from tests.support.stack import SimulatorProcess, free_port

CHAT = "granite-3-2-8b-instruct"


def run_proxy(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(LITEMAAS_STATE_DIR=str(tmp_path), **env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "litemaas.cli", "proxy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_proxy_refuses_missing_master_key(tmp_path: Path) -> None:
    out = run_proxy({"LITEMAAS_LITELLM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"}, tmp_path)
    assert out.returncode == 2
    assert "LITEMAAS_MASTER_KEY is not set" in out.stderr


def test_proxy_refuses_master_key_without_sk_prefix(tmp_path: Path) -> None:
    out = run_proxy(
        {
            "LITEMAAS_MASTER_KEY": "not-a-litellm-key",
            "LITEMAAS_LITELLM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
        },
        tmp_path,
    )
    assert out.returncode == 2
    assert "must start with 'sk-'" in out.stderr
    assert "not-a-litellm-key" not in out.stderr + out.stdout


def test_proxy_refuses_unreachable_database_without_leaking_password(tmp_path: Path) -> None:
    out = run_proxy(
        {
            "LITEMAAS_MASTER_KEY": "sk-test-1234",
            "LITEMAAS_LITELLM_DATABASE_URL": "postgresql://postgres:hunter2-secret@127.0.0.1:1/litellm",
        },
        tmp_path,
    )
    assert out.returncode == 2
    assert "PostgreSQL for LiteLLM is unreachable at 127.0.0.1:1/litellm" in out.stderr
    assert "hunter2-secret" not in out.stderr + out.stdout


# --- stopping: every process of the run gone, every port refusing, within 5 s --------------------

STOP_BUDGET_S = 5.0


@dataclass
class RunProcesses:
    """What a run left on the machine: its processes and the sessions they belong to."""

    procs: list[psutil.Process]
    sessions: set[int]


def _sid(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def _processes_of_run(root_pid: int | None, marker: str) -> RunProcesses:
    """The root, its descendants, anything naming the run's state dir, and all their sessions' members.

    Sessions catch what a child detached (PostgreSQL via pg_ctl, LiteLLM in its own session, its
    engine sidecar); the state dir catches a server started from it, however it was detached.
    """
    found: dict[int, psutil.Process] = {}
    if root_pid is not None:
        root = psutil.Process(root_pid)
        found[root.pid] = root
        found.update({p.pid: p for p in root.children(recursive=True)})
    for p in psutil.process_iter(["cmdline"]):
        if marker in " ".join(p.info["cmdline"] or []):
            found[p.pid] = p
    sessions = {sid for sid in (_sid(pid) for pid in found) if sid}
    sessions.discard(_sid(os.getpid()))
    for p in psutil.process_iter():
        if _sid(p.pid) in sessions:
            found[p.pid] = p
    found.pop(os.getpid(), None)
    return RunProcesses(procs=list(found.values()), sessions=sessions)


def _alive(run: RunProcesses, marker: str) -> list[str]:
    """Processes of ``run`` still alive (zombies excluded), plus any new one naming its state dir
    or in one of its sessions (the root's pid is not walked again: it may have been reused)."""
    now = _processes_of_run(None, marker)
    for p in psutil.process_iter():
        if _sid(p.pid) in run.sessions:
            now.procs.append(p)
    alive = []
    for p in {p.pid: p for p in [*run.procs, *now.procs]}.values():
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline())[:160]}")
        except psutil.NoSuchProcess:
            pass
    return alive


def _refuses(port: int) -> bool:
    """True when a TCP connect to 127.0.0.1:port is refused (nothing listens)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _assert_nothing_left(run: RunProcesses, marker: str, ports: list[int], within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        alive = _alive(run, marker)
        listening = [port for port in ports if not _refuses(port)]
        if not alive and not listening:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"left behind after {within:.0f} s: processes {alive}, ports still accepting {listening}")
        time.sleep(0.2)


def _stop_and_time(proc: subprocess.Popen[bytes], sig: int) -> tuple[int, float]:
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"did not stop within 60 s of signal {sig}")
    return code, time.monotonic() - started


def _chat_traffic(base_url: str, key: str) -> openai.OpenAI:
    """A few chat calls (one streamed) through the proxy; the client stays open (keep-alive)."""
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=60)
    for i in range(3):
        reply = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": f"hello {i}"}])
        assert reply.choices[0].message.content
    stream = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "stream"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    return client


def _stream_in_flight(base_url: str, key: str) -> threading.Thread:
    """A streamed answer the simulator holds back for a minute: open while the stack stops.

    Returns once its first chunk has arrived (the request is in LiteLLM's hands); the thread ends
    when the stop cuts the stream.
    """
    first_chunk = threading.Event()

    def consume() -> None:
        client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=120)
        content = "[[sim:delay_ms=60000]] a long answer"
        try:
            stream = client.chat.completions.create(
                model=CHAT, messages=[{"role": "user", "content": content}], stream=True
            )
            for _ in stream:
                first_chunk.set()
        except (openai.APIError, httpx.HTTPError):
            pass
        finally:
            first_chunk.set()
            client.close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    assert first_chunk.wait(60), "the held-back stream never started"
    assert thread.is_alive(), "the held-back stream ended before the stop"
    return thread


def _start_up(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        # Its own session, as a terminal's job: the run's sessions are then not the test's.
        return subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "up"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_up_ready(up: subprocess.Popen[bytes], log_path: Path, since: int) -> None:
    deadline = time.monotonic() + 420
    while "Ctrl-C stops everything" not in log_path.read_text(errors="replace")[since:]:
        assert up.poll() is None, log_path.read_text(errors="replace")[since:]
        assert time.monotonic() < deadline, log_path.read_text(errors="replace")[since:]
        time.sleep(1)


def _up_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {name: free_port() for name in ("pg", "sim", "proxy", "backend")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        LITEMAAS_STATE_DIR=str(tmp_path / "state"),
        LITEMAAS_EMBEDDED_PG_PORT=str(ports["pg"]),
        LITEMAAS_SIMULATOR_PORT=str(ports["sim"]),
        LITEMAAS_PROXY_PORT=str(ports["proxy"]),
        LITEMAAS_BACKEND_PORT=str(ports["backend"]),
    )
    return env, ports


def test_up_serves_the_demo_models_and_stops_within_5s_leaving_nothing(tmp_path: Path) -> None:
    env, ports = _up_env(tmp_path)
    log_path = tmp_path / "up.log"
    marker = str(tmp_path)
    stop_times = []
    key = ""
    for cycle in range(2):  # the second run restarts on the data the first one stopped
        since = log_path.stat().st_size if log_path.exists() else 0
        up = _start_up(env, log_path)
        try:
            _wait_up_ready(up, log_path, since)
            proxy = f"http://127.0.0.1:{ports['proxy']}"
            if cycle == 0:
                master_key = (tmp_path / "state" / "master_key").read_text().strip()
                assert master_key.startswith("sk-")
                assert oct((tmp_path / "state" / "master_key").stat().st_mode & 0o777) == "0o600"
                # A newcomer's path: development login, catalog, subscribe, key, OpenAI SDK.
                with httpx.Client(base_url=f"http://127.0.0.1:{ports['backend']}", timeout=60) as portal:
                    login = portal.post("/auth/dev", data={"username": "newcomer", "role": "user"})
                    assert login.status_code in (200, 303)
                    portal.headers["X-CSRF-Token"] = portal.cookies["litemaas_csrf"]
                    assert CHAT in [m["name"] for m in portal.get("/api/v1/models").json()]
                    assert portal.post("/api/v1/subscriptions", json={"model": CHAT}).status_code == 201
                    created = portal.post("/api/v1/keys", json={"alias": "laptop", "models": [CHAT]})
                    assert created.status_code == 201, created.text
                    key = created.json()["key"]
                    assert key not in portal.get("/api/v1/keys").text
            client = _chat_traffic(proxy, key)
            # The second stop happens with a streamed answer still open (a playground mid-answer).
            in_flight = _stream_in_flight(proxy, key) if cycle == 1 else None
            run = _processes_of_run(up.pid, marker)
            names = " ".join(" ".join(p.cmdline()) for p in run.procs)
            assert "postgres" in names and "litellm" in names and "server.mjs" in names, names
        finally:
            code, elapsed = _stop_and_time(up, signal.SIGINT)
        client.close()
        if in_flight is not None:
            in_flight.join(timeout=10)
            assert not in_flight.is_alive()
        stop_times.append(elapsed)
        assert code == 0, log_path.read_text(errors="replace")[since:]
        # Nothing may be left once `litemaas up` has returned: no grace period.
        _assert_nothing_left(run, marker, list(ports.values()), within=0)
        assert elapsed <= STOP_BUDGET_S, f"stop took {elapsed:.1f} s (cycle {cycle})"
    print(f"litemaas up stop times: {[f'{t:.2f}' for t in stop_times]} s")
    assert master_key not in log_path.read_text(errors="replace")
    assert key not in log_path.read_text(errors="replace")
    for log_file in (tmp_path / "state" / "logs").glob("*.log"):
        assert key not in log_file.read_text(errors="replace"), log_file


def test_up_killed_leaves_no_orphan(tmp_path: Path) -> None:
    env, ports = _up_env(tmp_path)
    log_path = tmp_path / "up.log"
    up = _start_up(env, log_path)
    try:
        _wait_up_ready(up, log_path, 0)
        master_key = (tmp_path / "state" / "master_key").read_text().strip()
        client = _chat_traffic(f"http://127.0.0.1:{ports['proxy']}", master_key)
        run = _processes_of_run(up.pid, str(tmp_path))
        assert len(run.procs) > 4, [p.cmdline() for p in run.procs]
    finally:
        up.kill()
        up.wait(timeout=10)
    client.close()
    _assert_nothing_left(run, str(tmp_path), list(ports.values()), within=10)


def test_up_refuses_a_taken_port_before_starting_anything(tmp_path: Path) -> None:
    env, ports = _up_env(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["proxy"]))
        squatter.listen()
        out = subprocess.run(
            [sys.executable, "-m", "litemaas.cli", "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"port {ports['proxy']}" in out.stderr and "already in use" in out.stderr, out.stderr
    assert not (tmp_path / "state" / "pgdata").exists()
    assert all(_refuses(port) for name, port in ports.items() if name != "proxy")


def _proxy_env(tmp_path: Path, database: str, simulator: SimulatorProcess, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        LITEMAAS_STATE_DIR=str(tmp_path / "state"),
        LITEMAAS_MASTER_KEY="sk-test-stop-master-1234",
        LITEMAAS_SALT_KEY="sk-test-stop-salt-1234",
        LITEMAAS_LITELLM_DATABASE_URL=database,
        LITEMAAS_SIMULATOR_URL=simulator.url,
        LITEMAAS_PROXY_PORT=str(port),
    )
    return env


def _start_proxy_cli(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "proxy"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{env['LITEMAAS_PROXY_PORT']}/health/readiness"
    deadline = time.monotonic() + 300
    while True:
        assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def _user_key(proxy_url: str, master_key: str) -> str:
    resp = httpx.post(
        f"{proxy_url}/key/generate",
        headers={"Authorization": f"Bearer {master_key}"},
        json={"models": [CHAT]},
        timeout=60,
    )
    resp.raise_for_status()
    return str(resp.json()["key"])


def test_proxy_stops_within_5s_after_traffic_many_times(
    tmp_path: Path, litellm_database: str, simulator: SimulatorProcess
) -> None:
    port = free_port()
    env = _proxy_env(tmp_path, litellm_database, simulator, port)
    proxy_url = f"http://127.0.0.1:{port}"
    stop_times = []
    for cycle, sig in enumerate((signal.SIGINT, signal.SIGTERM, signal.SIGINT)):
        proc = _start_proxy_cli(env, tmp_path / "proxy.log")
        try:
            key = _user_key(proxy_url, env["LITEMAAS_MASTER_KEY"])
            client = _chat_traffic(proxy_url, key)
            # One stop with a streamed answer still open: LiteLLM would wait for it without limit.
            in_flight = _stream_in_flight(proxy_url, key) if cycle == 1 else None
            run = _processes_of_run(proc.pid, str(tmp_path))
            assert any("server.mjs" in " ".join(p.cmdline()) for p in run.procs), "no engine sidecar seen"
        finally:
            code, elapsed = _stop_and_time(proc, sig)
        client.close()
        if in_flight is not None:
            in_flight.join(timeout=10)
            assert not in_flight.is_alive()
        stop_times.append(elapsed)
        assert code == 0, (tmp_path / "proxy.log").read_text(errors="replace")[-3000:]
        _assert_nothing_left(run, str(tmp_path), [port], within=0)
        assert elapsed <= STOP_BUDGET_S, f"stop took {elapsed:.1f} s (cycle {cycle}, signal {sig})"
    print(f"litemaas proxy stop times: {[f'{t:.2f}' for t in stop_times]} s")


def test_proxy_killed_leaves_nothing_and_a_taken_port_is_refused(
    tmp_path: Path, litellm_database: str, simulator: SimulatorProcess
) -> None:
    port = free_port()
    env = _proxy_env(tmp_path, litellm_database, simulator, port)
    proxy_url = f"http://127.0.0.1:{port}"
    proc = _start_proxy_cli(env, tmp_path / "proxy.log")
    try:
        client = _chat_traffic(proxy_url, _user_key(proxy_url, env["LITEMAAS_MASTER_KEY"]))
        run = _processes_of_run(proc.pid, str(tmp_path))
        assert any("server.mjs" in " ".join(p.cmdline()) for p in run.procs), "no engine sidecar seen"
    finally:
        proc.kill()
        proc.wait(timeout=10)
    client.close()
    # LiteLLM and its engine die with their supervisor; nothing keeps serving the port.
    _assert_nothing_left(run, str(tmp_path), [port], within=10)

    # A restarted proxy must not silently front whatever holds the port.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        out = subprocess.run(
            [sys.executable, "-m", "litemaas.cli", "proxy"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"port {port}" in out.stderr and "already in use" in out.stderr, out.stderr
    started = [p.pid for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert not started, "a LiteLLM process was started on a taken port"
