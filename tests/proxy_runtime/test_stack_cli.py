"""`litemaas proxy` fails fast with clear messages; `litemaas up` runs and stops the whole stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import psutil
import pytest

from tests.conftest import free_port

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


def test_up_serves_the_demo_models_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("pg", "sim", "proxy", "backend")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        LITEMAAS_STATE_DIR=str(tmp_path / "state"),
        LITEMAAS_EMBEDDED_PG_PORT=str(ports["pg"]),
        LITEMAAS_SIMULATOR_PORT=str(ports["sim"]),
        LITEMAAS_PROXY_PORT=str(ports["proxy"]),
        LITEMAAS_BACKEND_PORT=str(ports["backend"]),
    )
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "up"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 420
        while "Ctrl-C stops everything" not in log_path.read_text(errors="replace"):
            assert up.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(1)
        descendants = psutil.Process(up.pid).children(recursive=True)
        assert descendants, "no child processes"
        master_key = (tmp_path / "state" / "master_key").read_text().strip()
        assert master_key.startswith("sk-")
        assert oct((tmp_path / "state" / "master_key").stat().st_mode & 0o777) == "0o600"
        proxy = f"http://127.0.0.1:{ports['proxy']}"
        # A newcomer's path: development login, catalog, subscribe, key, OpenAI SDK.
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['backend']}", timeout=60) as portal:
            assert portal.post("/auth/dev", data={"username": "newcomer", "role": "user"}).status_code in (200, 303)
            portal.headers["X-CSRF-Token"] = portal.cookies["litemaas_csrf"]
            assert CHAT in [m["name"] for m in portal.get("/api/v1/models").json()]
            assert portal.post("/api/v1/subscriptions", json={"model": CHAT}).status_code == 201
            created = portal.post("/api/v1/keys", json={"alias": "laptop", "models": [CHAT]})
            assert created.status_code == 201, created.text
            key = created.json()["key"]
            assert key not in portal.get("/api/v1/keys").text
        client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=key, max_retries=0)
        reply = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content
        assert master_key not in log_path.read_text(errors="replace")
        assert key not in log_path.read_text(errors="replace")
        for log_file in (tmp_path / "state" / "logs").glob("*.log"):
            assert key not in log_file.read_text(errors="replace"), log_file
    finally:
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(timeout=90)
        except subprocess.TimeoutExpired:
            up.kill()
            pytest.fail("litemaas up did not stop within 90 s")
    assert code == 0
    time.sleep(1)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"orphans left: {[p.cmdline() for p in alive]}"
    for port in ports.values():
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
