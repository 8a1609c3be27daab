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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


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


async def key_generate_rate(proxy_url: str, master_key: str, n: int, concurrency: int) -> LoadResult:
    headers = {"Authorization": f"Bearer {master_key}"}

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            f"{proxy_url}/key/generate", json={"models": [CHAT], "rpm_limit": 100}, headers=headers
        )

    return await run_load("/key/generate (offline engine)", concurrency, n, send, warmup=2)


def proxy_section(args: argparse.Namespace) -> None:
    """Ours against bare LiteLLM at 1/8/32/64, with Redis, streaming, hooks on/off, replicas, workers,
    cold start (tests/bench_proxy.py has the method); then the /key/generate rate."""
    from tests import bench_proxy

    bench_proxy.main(["--levels", ",".join(str(c) for c in args.concurrency)])


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
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32, 64])
    parser.add_argument("--requests", type=int, default=300, help="requests per concurrency level")
    parser.add_argument("--keys", type=int, default=100, help="keys to generate for the /key/generate rate")
    args = parser.parse_args()
    for name in args.only.split(","):
        SECTIONS[name.strip()](args)


if __name__ == "__main__":
    main()
