"""Deployment sizing figures (issue 11, capacity notes): one proxy as the OpenShift manifests run it
(shared Redis, LiteLLM's database), at 1 and 2 LiteLLM workers.

Per configuration: chat requests/s with a virtual key, Redis commands and PostgreSQL transactions
and rows written per request (so per 1,000 requests/s), and resident memory per process. Redis is
a private ``redis-server`` started here (the machine's Redis is shared, its counters are not
ours); PostgreSQL counters are those of the bench's own database (``pg_stat_database``).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import time
from typing import Any

import httpx
import psutil
import psycopg

from tests.bench import CHAT, chat_sender, run_load
from tests.support.stack import LOG_DIR, REPO, create_database, database_url, drop_database, free_port, start_simulator

_PG_COUNTERS = "xact_commit, tup_inserted, tup_updated, tup_deleted, tup_fetched"


def _redis_cli() -> str:
    binary = shutil.which("redis-cli")
    assert binary, "redis-cli is needed for the deploy figures"
    return binary


def _redis_server() -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for the deploy figures"
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        ping = subprocess.run([_redis_cli(), "-p", str(port), "ping"], capture_output=True, check=False)
        if ping.stdout.strip() == b"PONG":
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def _redis_commands(port: int) -> int:
    out = subprocess.run(
        [_redis_cli(), "-p", str(port), "info", "commandstats"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0
    for line in out.splitlines():
        if line.startswith("cmdstat_") and not line.startswith("cmdstat_info"):
            total += int(line.split("calls=")[1].split(",")[0])
    return total


def _pg_counters(db_name: str) -> tuple[int, ...]:
    with psycopg.connect(database_url("postgres")) as conn:
        row = conn.execute(
            f"SELECT {_PG_COUNTERS} FROM pg_stat_database WHERE datname = %s",
            (db_name,),
        ).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


def _memory(root: psutil.Process) -> dict[str, float]:
    """Resident MiB: the LiteLLM master (with its workers) and the offline engine sidecars."""
    figures = {"litellm": root.memory_info().rss / 2**20, "engine": 0.0, "workers": 0.0}
    for child in root.children(recursive=True):
        try:
            command = " ".join(child.cmdline())
            rss = child.memory_info().rss / 2**20
        except psutil.Error:
            continue
        if "server.mjs" in command:
            figures["engine"] += rss
        elif "python" in command or "litellm" in command:
            figures["workers"] += rss
    return figures


def _measure(workers: int, requests: int, concurrency: int, simulator_url: str) -> dict[str, Any]:
    from litemaas.config import Settings
    from litemaas.proxy_runtime import supervisor
    from litemaas.proxy_runtime.litellm_schema import migrate

    redis_proc, redis_port = _redis_server()
    db_name = create_database("litellm_deploy")
    try:
        migrate(database_url(db_name))
        master_key = "sk-bench-" + secrets.token_hex(12)
        settings = Settings(
            master_key=master_key,
            salt_key="sk-bench-salt-" + secrets.token_hex(8),
            litellm_database_url=database_url(db_name),
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
            simulator_url=simulator_url,
            proxy_port=free_port(),
            proxy_workers=workers,
        )
        launch = supervisor.build_launch(settings, state_dir=REPO / ".run" / "bench-deploy" / f"proxy-{workers}")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        proc = supervisor.start(launch, log_path=LOG_DIR / f"bench-deploy-proxy-{workers}.log")
        try:
            # Longer than the tests' 240 s: on a shared 2-core machine LiteLLM's import alone can take minutes.
            ready = supervisor.wait_ready(launch.url, proc, timeout=900)
            print(f"  proxy with {workers} worker(s) ready after {ready:.0f} s", flush=True)
            return _load(launch.url, proc.pid, master_key, redis_port, db_name, requests, concurrency, workers)
        finally:
            supervisor.stop(proc)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        drop_database(db_name)


def _load(
    url: str, pid: int, master_key: str, redis_port: int, db_name: str, requests: int, concurrency: int, workers: int
) -> dict[str, Any]:
    key = httpx.post(
        f"{url}/key/generate",
        json={"models": [CHAT], "rpm_limit": 1_000_000, "tpm_limit": 1_000_000_000},
        headers={"Authorization": f"Bearer {master_key}"},
        timeout=60,
    ).json()["key"]
    send = chat_sender(url, key)
    asyncio.run(run_load("warm-up", concurrency, concurrency * 4, send))
    time.sleep(3)  # LiteLLM writes spend logs in batches: let the warm-up's land first
    redis0, pg0 = _redis_commands(redis_port), _pg_counters(db_name)
    result = asyncio.run(run_load(f"{workers} worker(s), Redis + DB", concurrency, requests, send))
    time.sleep(12)  # the spend-log batch of the measured requests (flushed every ~10 s)
    redis1, pg1 = _redis_commands(redis_port), _pg_counters(db_name)
    return {
        "result": result,
        "redis_per_request": (redis1 - redis0) / requests,
        "pg_per_request": [(b - a) / requests for a, b in zip(pg0, pg1, strict=True)],
        "memory": _memory(psutil.Process(pid)),
    }


def run(requests: int = 600, concurrency: int = 16, worker_counts: tuple[int, ...] = (1, 2)) -> None:
    print(
        f"one proxy as deployed (Redis, DB), {requests} chat requests at concurrency {concurrency}; "
        f"machine: {psutil.cpu_count()} cores, load {psutil.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    sim = start_simulator()
    try:
        for workers in worker_counts:
            figures = _measure(workers, requests, concurrency, sim.url)
            result = figures["result"]
            pg = figures["pg_per_request"]
            memory = figures["memory"]
            print(result.line(), flush=True)
            print(
                f"  per 1,000 req/s: Redis {1000 * figures['redis_per_request']:,.0f} commands/s; PostgreSQL "
                f"{1000 * pg[0]:,.0f} transactions/s, {1000 * (pg[1] + pg[2] + pg[3]):,.0f} rows written/s, "
                f"{1000 * pg[4]:,.0f} rows read/s",
                flush=True,
            )
            print(
                f"  memory (RSS): LiteLLM {memory['litellm']:.0f} MiB + workers {memory['workers']:.0f} MiB, "
                f"offline engine {memory['engine']:.0f} MiB",
                flush=True,
            )
            # Figures first, then the verdict: a starved machine may time a request out.
            assert result.errors == 0, f"{result.errors} request(s) failed"
    finally:
        sim.proc.terminate()
    print(f"(logs in {REPO / '.run' / 'test-logs'})", flush=True)
