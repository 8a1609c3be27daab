"""Benchmark: chat completions through the proxy with all hooks enabled vs. hooks disabled.

Not a test. Two real LiteLLM proxies on one freshly migrated database, in front of one model
simulator, on this machine, in the same run: one with ``litellm_config/config.yaml`` as shipped
(capability hooks, capability routes, Llama Guard guardrail configured), one with the same
models and no hooks. Load alternates between them round by round so drift hits both alike.
The requests use a virtual key without safety screening: the figure is the cost of the hooks
for requests that need no safety call (goal: >= 0.97 of the throughput, <= 2 ms added at p99).

    .venv/bin/python -m tests.bench_hooks [--seconds 10] [--rounds 3] [--concurrency 8]

Call :func:`run` from another benchmark driver to get the figures as a :class:`BenchReport`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.stack import REPO, create_database, database_url, drop_database, start_proxy, start_simulator

CHAT = "granite-3-2-8b-instruct"


@dataclass
class Sample:
    """Latencies (seconds) of successful requests and the wall time they took."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0

    def add(self, other: Sample) -> None:
        self.latencies.extend(other.latencies)
        self.elapsed += other.elapsed
        self.errors += other.errors

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class BenchReport:
    """Both sides of the comparison and the figures derived from them."""

    hooks_on: Sample
    hooks_off: Sample
    round_ratios: list[float] = field(default_factory=list)
    hook_cpu_us: float | None = None

    @property
    def throughput_ratio(self) -> float:
        return self.hooks_on.throughput / self.hooks_off.throughput

    @property
    def p99_added_ms(self) -> float:
        return (self.hooks_on.percentile(99) - self.hooks_off.percentile(99)) * 1000

    @property
    def p50_added_ms(self) -> float:
        return (self.hooks_on.percentile(50) - self.hooks_off.percentile(50)) * 1000

    def lines(self) -> list[str]:
        def row(name: str, s: Sample) -> str:
            return (
                f"{name:<10} {s.throughput:8.1f} req/s   p50 {s.percentile(50) * 1000:7.2f} ms   "
                f"p99 {s.percentile(99) * 1000:7.2f} ms   n={len(s.latencies)} errors={s.errors}"
            )

        lines = [
            row("hooks on", self.hooks_on),
            row("hooks off", self.hooks_off),
            (
                f"throughput ratio (on/off): {self.throughput_ratio:.3f}   "
                f"p50 added: {self.p50_added_ms:+.2f} ms   p99 added: {self.p99_added_ms:+.2f} ms"
            ),
        ]
        if self.round_ratios:
            per_round = " ".join(f"{r:.3f}" for r in self.round_ratios)
            lines.append(
                f"per-round throughput ratios: {per_round}   median {statistics.median(self.round_ratios):.3f}"
            )
        if self.hook_cpu_us is not None:
            lines.append(f"hook CPU added per chat request (in-process, no safety call): {self.hook_cpu_us:.1f} us")
        return lines


def hooks_off_config() -> dict[str, Any]:
    """The shipped config without any LiteMaaS hook: same models, prices and settings."""
    config: dict[str, Any] = yaml.safe_load((REPO / "litellm_config" / "config.yaml").read_text())
    config.get("litellm_settings", {}).pop("callbacks", None)
    config.pop("guardrails", None)
    return config


async def _load(url: str, key: str, seconds: float, concurrency: int) -> Sample:
    sample = Sample()
    body = {"model": CHAT, "messages": [{"role": "user", "content": "Benchmark: say something short."}]}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                resp = await client.post("/v1/chat/completions", json=body, timeout=30)
                if resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"]:
                    sample.latencies.append(time.perf_counter() - started)
                else:
                    sample.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        sample.elapsed = time.perf_counter() - started
    return sample


def hook_cpu_us(iterations: int = 5000) -> float:
    """Microseconds the hooks add to one unscreened chat request, measured in this process.

    Drives LiteLLM's own per-request hook dispatch (``ProxyLogging.pre_call_hook`` and
    ``post_call_success_hook``, what the proxy runs around every chat call) with and without
    the shipped callbacks and guardrail, against a router built from the shipped config, and
    returns the difference. Stable where throughput on a shared machine is not.
    """
    import litellm
    from litellm.caching.caching import DualCache
    from litellm.proxy import proxy_server
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.utils import ProxyLogging

    sys.path.insert(0, str(REPO / "hooks"))
    config: dict[str, Any] = yaml.safe_load((REPO / "litellm_config" / "config.yaml").read_text())
    for model in config["model_list"]:
        model["litellm_params"]["api_base"] = "http://127.0.0.1:9/v1"  # never called
    saved_router, saved_callbacks = proxy_server.llm_router, list(litellm.callbacks)
    proxy_server.llm_router = litellm.Router(model_list=config["model_list"])
    try:
        from litemaas_hooks.proxy_hooks import capability_hooks
        from litemaas_hooks.safety import LlamaGuardGuardrail

        guard_params = dict(config["guardrails"][0]["litellm_params"])
        guard_params.pop("guardrail")
        guard = LlamaGuardGuardrail(guardrail_name="llama-guard", event_hook=guard_params.pop("mode"), **guard_params)
        logging = ProxyLogging(user_api_key_cache=DualCache())
        key = UserAPIKeyAuth(api_key="hashed-key", user_id="bench-user", metadata={})
        response = litellm.ModelResponse(model=CHAT)

        async def per_request(callbacks: list[Any]) -> float:
            litellm.callbacks = callbacks

            async def once() -> None:
                data = {
                    "model": CHAT,
                    "messages": [{"role": "user", "content": "hello"}],
                    "metadata": {"user_api_key_metadata": {}},
                }
                data = await logging.pre_call_hook(user_api_key_dict=key, data=data, call_type="acompletion")
                await logging.post_call_success_hook(data=data, response=response, user_api_key_dict=key)

            for _ in range(500):
                await once()
            started = time.perf_counter()
            for _ in range(iterations):
                await once()
            return (time.perf_counter() - started) / iterations * 1e6

        async def measure() -> float:
            differences = []
            for _ in range(3):
                off = await per_request([])
                on = await per_request([capability_hooks, guard])
                differences.append(on - off)
            return statistics.median(differences)

        return asyncio.run(measure())
    finally:
        proxy_server.llm_router = saved_router
        litellm.callbacks = saved_callbacks


def run(seconds: float = 10.0, rounds: int = 3, concurrency: int = 8, warmup: float = 3.0) -> BenchReport:
    """Start the stack, load both proxies alternately, stop everything; returns the figures."""
    simulator = start_simulator()
    db_name = create_database("litellm_bench")
    db_url = database_url(db_name)
    master_key = "sk-bench-master-" + secrets.token_hex(12)
    proxies = []
    try:
        from litemaas.proxy_runtime import prisma_client
        from litemaas.proxy_runtime.litellm_schema import migrate

        migrate(db_url)
        prisma_client.generate_client()
        with tempfile.TemporaryDirectory() as off_dir:
            (Path(off_dir) / "config.yaml").write_text(yaml.safe_dump(hooks_off_config()))
            on = start_proxy(db_url=db_url, master_key=master_key, simulator_url=simulator.url)
            proxies.append(on)
            off = start_proxy(
                db_url=db_url, master_key=master_key, simulator_url=simulator.url, config_dir=Path(off_dir)
            )
            proxies.append(off)
        generated = httpx.post(
            f"{on.url}/key/generate",
            json={"models": [CHAT], "user_id": "bench-user"},
            headers={"Authorization": f"Bearer {master_key}"},
            timeout=30,
        )
        generated.raise_for_status()
        key = generated.json()["key"]

        for proxy in (on, off):  # warm caches, connection pools and the key cache on both
            asyncio.run(_load(proxy.url, key, warmup, concurrency))
        report = BenchReport(hooks_on=Sample(), hooks_off=Sample())
        for index in range(rounds):
            order = [(on, report.hooks_on), (off, report.hooks_off)]
            measured: dict[int, Sample] = {}
            for proxy, total in order if index % 2 == 0 else reversed(order):
                sample = asyncio.run(_load(proxy.url, key, seconds, concurrency))
                measured[id(total)] = sample
                total.add(sample)
            off_rate = measured[id(report.hooks_off)].throughput
            if off_rate:
                report.round_ratios.append(measured[id(report.hooks_on)].throughput / off_rate)
        report.hook_cpu_us = hook_cpu_us()
        return report
    finally:
        for proxy in proxies:
            proxy.stop()
        simulator.proc.terminate()
        simulator.proc.wait(timeout=10)
        drop_database(db_name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="load per proxy per round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    report = run(seconds=args.seconds, rounds=args.rounds, concurrency=args.concurrency)
    print("chat completions through the LiteLLM proxy, hooks on vs off (same run, same machine)")
    for line in report.lines():
        print(line)
    # Correctness only: every request answered. The figures are for people, not a pass/fail.
    return 0 if report.hooks_on.errors == 0 and report.hooks_off.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
