"""``make bench``: figures for the proxy runtime, the hooks and the backend.

Benchmarks are not tests: they print figures and assert only correctness (every request
counted must have succeeded). Everything runs on this machine against real processes.

    python -m tests.bench                 # all sections
    python -m tests.bench --only proxy    # proxy runtime figures only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.conftest import (
    LOG_DIR,
    REPO,
    create_database,
    database_url,
    drop_database,
    free_port,
    start_proxy,
    start_simulator,
    wait_http,
)

CHAT = "granite-3-2-8b-instruct"


@dataclass
class LoadResult:
    label: str
    concurrency: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        idx = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[idx]

    def line(self) -> str:
        return (
            f"{self.label:<28} c={self.concurrency:<3} n={self.requests:<5} "
            f"{self.rps:8.1f} req/s  p50 {self.pct(50):7.1f} ms  p99 {self.pct(99):7.1f} ms  errors {self.errors}"
        )


async def run_load(
    label: str,
    concurrency: int,
    total: int,
    send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    *,
    warmup: int = 5,
) -> LoadResult:
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        for _ in range(warmup):
            await send(client)
        latencies: list[float] = []
        errors = 0
        remaining = total

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                resp = await send(client)
                elapsed = (time.perf_counter() - started) * 1000
                if resp.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return LoadResult(label, concurrency, total, seconds, latencies, errors)


def chat_sender(base_url: str, key: str) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    body = {
        "model": CHAT,
        "messages": [{"role": "user", "content": "benchmark prompt with a few words"}],
        "max_tokens": 16,
    }
    headers = {"Authorization": f"Bearer {key}"}

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(f"{base_url}/v1/chat/completions", json=body, headers=headers)

    return send


def start_dbless_proxy(master_key: str, simulator_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Stock LiteLLM with the same model config, master key only, no database."""
    from litemaas.config import Settings
    from litemaas.proxy_runtime import supervisor

    port = free_port()
    state = REPO / ".run" / "bench" / f"dbless-{port}"
    settings = Settings(master_key=master_key, simulator_url=simulator_url, proxy_port=port)
    config_path = supervisor.render_config(settings, state)
    config = yaml.safe_load(config_path.read_text())
    config["general_settings"].pop("database_url", None)
    config["general_settings"].pop("store_model_in_db", None)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        LITELLM_MASTER_KEY=master_key,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        SIMULATOR_API_BASE=simulator_url + "/v1",
        PYTHONPATH=str(settings.hooks_dir),
    )
    litellm_bin = Path(sys.executable).parent / "litellm"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # The child keeps its own copy of the log file; ours closes once it has started.
    with open(LOG_DIR / f"dbless-{port}.log", "ab") as log:
        proc = subprocess.Popen(
            [str(litellm_bin), "--config", str(config_path), "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=str(state),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health/readiness", proc, timeout=240)
    return proc, url


def cold_start(db_url: str, master_key: str, simulator_url: str) -> float:
    """Seconds from `litemaas proxy` (migrations already applied) to the first 200 on /health/readiness."""
    from litemaas.proxy_runtime import supervisor

    port = free_port()
    env = dict(os.environ)
    env.update(
        LITEMAAS_LITELLM_DATABASE_URL=db_url,
        LITEMAAS_MASTER_KEY=master_key,
        LITEMAAS_SIMULATOR_URL=simulator_url,
        LITEMAAS_PROXY_PORT=str(port),
        LITEMAAS_STATE_DIR=str(REPO / ".run" / "bench" / f"cold-{port}"),
    )
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "litemaas.cli", "proxy"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health/readiness", proc, timeout=300)
        return time.monotonic() - started
    finally:
        supervisor.stop(proc)


async def key_generate_rate(proxy_url: str, master_key: str, n: int, concurrency: int) -> LoadResult:
    headers = {"Authorization": f"Bearer {master_key}"}

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            f"{proxy_url}/key/generate", json={"models": [CHAT], "rpm_limit": 100}, headers=headers
        )

    return await run_load("/key/generate (offline engine)", concurrency, n, send, warmup=2)


def proxy_section(args: argparse.Namespace) -> None:
    print("\n== Proxy runtime (issue 2) ==", flush=True)
    from litemaas.proxy_runtime import prisma_client
    from litemaas.proxy_runtime.litellm_schema import migrate

    prisma_client.generate_client()
    sim = start_simulator()
    db_name = create_database("litellm_bench")
    db_url = database_url(db_name)
    migrate(db_url)
    master_key = "sk-bench-" + secrets.token_hex(12)
    ours = start_proxy(db_url=db_url, master_key=master_key, simulator_url=sim.url)
    dbless_proc, dbless_url = start_dbless_proxy(master_key, sim.url)
    try:
        key = httpx.post(
            f"{ours.url}/key/generate",
            json={"models": [CHAT]},
            headers={"Authorization": f"Bearer {master_key}"},
            timeout=30,
        ).json()["key"]
        rows: list[tuple[LoadResult, LoadResult]] = []
        import psutil

        proxy_ps = psutil.Process(ours.proc.pid)
        engines = [c for c in proxy_ps.children(recursive=True) if "server.mjs" in " ".join(c.cmdline())]

        def cpu(p: psutil.Process) -> float:
            t = p.cpu_times()
            return float(t.user + t.system)

        for c in args.concurrency:
            n = max(args.requests, c * 10)
            proxy_cpu0 = cpu(proxy_ps) + sum(cpu(ch) for ch in proxy_ps.children(recursive=True) if ch not in engines)
            engine_cpu0 = sum(cpu(e) for e in engines)
            a = asyncio.run(run_load("ours (DB, virtual key)", c, n, chat_sender(ours.url, key)))
            proxy_cpu = cpu(proxy_ps) + sum(cpu(ch) for ch in proxy_ps.children(recursive=True) if ch not in engines)
            engine_cpu = sum(cpu(e) for e in engines) - engine_cpu0
            cpu_note = (
                f"  cpu/request: LiteLLM {1000 * (proxy_cpu - proxy_cpu0) / n:.1f} ms, "
                f"offline engine {1000 * engine_cpu / n:.2f} ms"
            )
            b = asyncio.run(run_load("LiteLLM, no DB (master)", c, n, chat_sender(dbless_url, master_key)))
            assert a.errors == 0 and b.errors == 0, (a.errors, b.errors)
            print(a.line(), flush=True)
            print(cpu_note, flush=True)
            print(b.line(), flush=True)
            rows.append((a, b))
        print("throughput ratio ours / no-DB:", flush=True)
        for a, b in rows:
            print(
                f"  c={a.concurrency:<3} {a.rps / b.rps:5.2f}   p50 +{a.pct(50) - b.pct(50):6.1f} ms"
                f"   p99 +{a.pct(99) - b.pct(99):6.1f} ms",
                flush=True,
            )
        kg = asyncio.run(key_generate_rate(ours.url, master_key, args.keys, 4))
        assert kg.errors == 0, kg.errors
        print(kg.line(), flush=True)
    finally:
        ours.stop()
        from litemaas.proxy_runtime import supervisor

        supervisor.stop(dbless_proc)
    secs = cold_start(db_url, master_key, sim.url)
    print(
        f"cold start `litemaas proxy` -> first 200 on /health/readiness: {secs:.1f} s "
        f"(LiteLLM import alone is most of it on this 2-core machine)",
        flush=True,
    )
    sim.proc.terminate()
    drop_database(db_name)


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {"proxy": proxy_section}


def hooks_section(args: argparse.Namespace) -> None:
    from tests import bench_hooks

    print("\n== Hooks overhead (issue 4) ==", flush=True)
    code = bench_hooks.main([])
    assert code == 0, "requests failed during the hooks benchmark"


def backend_section(args: argparse.Namespace) -> None:
    from tests import bench_backend

    print("\n== Backend (issue 3) ==", flush=True)
    bench_backend.run()


def playground_section(args: argparse.Namespace) -> None:
    from tests import bench_playground

    print("\n== Playground (issue 8) ==", flush=True)
    bench_playground.run()


def usage_section(args: argparse.Namespace) -> None:
    from tests import bench_usage

    print("\n== Usage analytics (issue 9) ==", flush=True)
    bench_usage.main([])


def portal_section(args: argparse.Namespace) -> None:
    from tests import bench_portal

    print("\n== Portal pages (issue 8) ==", flush=True)
    bench_portal.run()


def deploy_section(args: argparse.Namespace) -> None:
    from tests import bench_deploy

    print("\n== Deployment sizing (issue 11) ==", flush=True)
    bench_deploy.run()


def admin_section(args: argparse.Namespace) -> None:
    from tests import bench_admin

    print("\n== Admin console (issue 10) ==", flush=True)
    bench_admin.main([])


def backups_section(args: argparse.Namespace) -> None:
    from tests import bench_backups

    print("\n== Backups (issue 11) ==", flush=True)
    bench_backups.run()


def admin_users_section(args: argparse.Namespace) -> None:
    from tests import bench_admin_users

    print("\n== Admin users page at 10,000 users (issue 10) ==", flush=True)
    bench_admin_users.main([])


def events_section(args: argparse.Namespace) -> None:
    from tests import bench_events

    print("\n== Workshop events: attendees joining at once (issue 13) ==", flush=True)
    bench_events.main([])


SECTIONS.update(
    hooks=hooks_section,
    backend=backend_section,
    playground=playground_section,
    usage=usage_section,
    portal=portal_section,
    deploy=deploy_section,
    admin=admin_section,
    backups=backups_section,
    admin_users=admin_users_section,
    events=events_section,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ",".join(SECTIONS))
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=300, help="requests per concurrency level")
    parser.add_argument("--keys", type=int, default=100, help="keys to generate for the /key/generate rate")
    args = parser.parse_args()
    for name in args.only.split(","):
        SECTIONS[name.strip()](args)


if __name__ == "__main__":
    main()
