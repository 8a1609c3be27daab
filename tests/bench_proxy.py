"""The governed proxy under a full room (issue 12): ours against bare LiteLLM, one run, every figure.

"Ours" is the proxy as LiteMaaS runs it: LiteLLM's database through the offline engine, a virtual
key, our hooks. "Bare" is the same LiteLLM with the same model config and hooks but no database,
called with the master key. Both talk to one simulator (no latency for plain chat; 200 ms to the
first token for streamed chat).

Method, so the figures can be repeated and compared:

- Rounds are interleaved (ours, bare, bare, ours, ...), so load from anything else on the machine
  falls on both sides alike; the throughput ratio is given per level as the mean of the per-round
  ratios with a 95 % confidence interval (Student's t over the rounds). Latency percentiles pool
  every round of a side.
- CPU per request is read from the processes themselves (psutil): LiteLLM (the proxy and its
  workers), the offline engine (the Node sidecar), PostgreSQL (the postmaster and its backends of
  the bench's own embedded server, so other databases on the machine do not count).
- The bench's PostgreSQL loads ``pg_stat_statements``: the statements per request at c=32 are
  printed, so per-request work in the database shows up by name.
- A sampling profile of LiteLLM at c=32 is written with py-spy when ``--profile`` is given
  (``.run/bench/proxy-profile-c32.txt``, folded stacks; ``python -m tests.bench_proxy --fold FILE``
  prints the inclusive and self shares).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import yaml

from tests.bench import CHAT, key_generate_rate
from tests.support.stack import LOG_DIR, REPO, free_port, start_simulator, wait_http

BENCH_DIR = REPO / ".run" / "bench"
# Two-sided 95 % Student's t quantiles by degrees of freedom.
_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}

Op = Callable[[httpx.AsyncClient], Awaitable[float | None]]


# --------------------------------------------------------------------------------------------
# Load


@dataclass
class Load:
    label: str
    concurrency: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval."""
    m = statistics.fmean(values)
    if len(values) < 2:
        return m, float("nan")
    t = _T95.get(len(values) - 1, 1.96)
    return m, t * statistics.stdev(values) / math.sqrt(len(values))


def chat_op(base_url: str, key: str) -> Op:
    body = {
        "model": CHAT,
        "messages": [{"role": "user", "content": "benchmark prompt with a few words"}],
        "max_tokens": 16,
    }
    headers = {"Authorization": f"Bearer {key}"}

    async def op(client: httpx.AsyncClient) -> float | None:
        started = time.perf_counter()
        resp = await client.post(f"{base_url}/v1/chat/completions", json=body, headers=headers)
        return (time.perf_counter() - started) * 1000 if resp.status_code == 200 else None

    return op


def ttft_op(base_url: str, key: str) -> Op:
    """Streamed chat; the figure is the time to the first content chunk."""
    body = {
        "model": CHAT,
        "messages": [{"role": "user", "content": "benchmark prompt with a few words"}],
        "max_tokens": 16,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {key}"}

    async def op(client: httpx.AsyncClient) -> float | None:
        started = time.perf_counter()
        first: float | None = None
        async with client.stream("POST", f"{base_url}/v1/chat/completions", json=body, headers=headers) as resp:
            if resp.status_code != 200:
                await resp.aread()
                return None
            async for line in resp.aiter_lines():
                if first is None and line.startswith("data:") and '"content"' in line:
                    first = (time.perf_counter() - started) * 1000
        return first

    return op


async def _drive(label: str, concurrency: int, total: int, ops: Sequence[Op]) -> Load:
    """``total`` requests from ``concurrency`` workers; ops are used round-robin (replicas)."""
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
        for op in ops:
            for _ in range(3):
                await op(client)
        latencies: list[float] = []
        errors = 0
        issued = 0

        async def worker() -> None:
            nonlocal issued, errors
            while issued < total:
                op = ops[issued % len(ops)]
                issued += 1
                ms = await op(client)
                if ms is None:
                    errors += 1
                else:
                    latencies.append(ms)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Load(label, concurrency, total, time.perf_counter() - started, latencies, errors)


# --------------------------------------------------------------------------------------------
# Processes


def _cpu(p: psutil.Process) -> float:
    try:
        t = p.cpu_times()
        return float(t.user + t.system)
    except psutil.Error:
        return 0.0


@dataclass
class Proxy:
    label: str
    url: str
    key: str
    proc: subprocess.Popen[bytes]

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: LiteLLM (proxy + workers) and the offline engine sidecars."""
        try:
            root = psutil.Process(self.proc.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return {"litellm": 0.0, "engine": 0.0}
        engine = [p for p in tree if "server.mjs" in " ".join(p.cmdline())]
        return {
            "litellm": sum(_cpu(p) for p in tree if p not in engine),
            "engine": sum(_cpu(p) for p in engine),
        }

    def op(self, streaming: bool = False) -> Op:
        return (ttft_op if streaming else chat_op)(self.url, self.key)

    def stop(self) -> None:
        from litemaas.proxy_runtime import supervisor

        supervisor.stop(self.proc)


class BenchPostgres:
    """A private embedded PostgreSQL with pg_stat_statements; its processes are the bench's own."""

    def __init__(self) -> None:
        from litemaas.proxy_runtime.embedded_pg import EmbeddedPostgres

        self.root = BENCH_DIR / f"pg-{os.getpid()}"
        shutil.rmtree(self.root, ignore_errors=True)
        port = free_port()
        self.pg = EmbeddedPostgres(self.root / "data", port=port)
        self.pg.start()
        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            conn.execute("ALTER SYSTEM SET max_connections = 400")
        self.pg.stop()
        self.pg = EmbeddedPostgres(self.root / "data", port=port)
        self.pg.start()

    def create(self, name: str) -> str:
        from litemaas.proxy_runtime.litellm_schema import migrate

        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.pg.url(name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        migrate(url)
        return url

    def cpu(self) -> float:
        proc = self.pg._proc
        if proc is None:
            return 0.0
        root = psutil.Process(proc.pid)
        return _cpu(root) + sum(_cpu(p) for p in root.children(recursive=True))

    def stop(self) -> None:
        self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _config_dir(hooks: bool) -> Path | None:
    """None: the product config. Without hooks: the same models with no callbacks or guardrails."""
    if hooks:
        return None
    out = BENCH_DIR / "config-no-hooks"
    out.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((REPO / "litellm_config" / "config.yaml").read_text())
    config.get("litellm_settings", {}).pop("callbacks", None)
    config.pop("guardrails", None)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return out


def start_ours(
    label: str,
    db_url: str,
    master_key: str,
    simulator_url: str,
    *,
    redis_url: str | None = None,
    workers: int = 1,
    hooks: bool = True,
    settings: dict[str, Any] | None = None,
) -> Proxy:
    from litemaas.config import Settings
    from litemaas.proxy_runtime import supervisor

    port = free_port()
    overrides: dict[str, Any] = {
        "master_key": master_key,
        "salt_key": "sk-bench-salt-0123456789abcdef",
        "litellm_database_url": db_url,
        "redis_url": redis_url,
        "simulator_url": simulator_url,
        "proxy_port": port,
        "proxy_workers": workers,
        **(settings or {}),
    }
    config_dir = _config_dir(hooks)
    if config_dir is not None:
        overrides["litellm_config_dir"] = config_dir
    launch = supervisor.build_launch(Settings(**overrides), port=port, state_dir=BENCH_DIR / f"ours-{port}")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    proc = supervisor.start(launch, log_path=LOG_DIR / f"bench-proxy-ours-{port}.log")
    supervisor.wait_ready(launch.url, proc, timeout=300)
    resp = httpx.post(
        f"{launch.url}/key/generate",
        json={"models": [CHAT], "rpm_limit": 100_000, "tpm_limit": 100_000_000},
        headers={"Authorization": f"Bearer {master_key}"},
        timeout=60,
    )
    resp.raise_for_status()
    return Proxy(label, launch.url, resp.json()["key"], proc)


def start_bare(label: str, master_key: str, simulator_url: str, *, workers: int = 1) -> Proxy:
    """Stock LiteLLM with the same model config and hooks, master key only, no database."""
    from litemaas.config import Settings
    from litemaas.proxy_runtime import supervisor

    port = free_port()
    state = BENCH_DIR / f"bare-{port}"
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
    argv = [str(Path(sys.executable).parent / "litellm"), "--config", str(config_path)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", str(workers)]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"bench-proxy-bare-{port}.log", "ab") as log:
        proc = subprocess.Popen(
            argv, env=env, cwd=str(state), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health/readiness", proc, timeout=300)
    return Proxy(label, url, master_key, proc)


@contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for the Redis figures"
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import redis

                if redis.Redis(port=port).ping():
                    break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# Comparisons


@dataclass
class Side:
    label: str
    proxies: list[Proxy]
    pg: BenchPostgres | None = None
    rounds: list[Load] = field(default_factory=list)

    def measure(self, concurrency: int, total: int, streaming: bool = False) -> Load:
        before = [p.cpu() for p in self.proxies]
        pg0 = self.pg.cpu() if self.pg else 0.0
        ops = [p.op(streaming) for p in self.proxies]
        load = asyncio.run(_drive(self.label, concurrency, total, ops))
        after = [p.cpu() for p in self.proxies]
        for part in ("litellm", "engine"):
            load.cpu_ms[part] = 1000 * sum(a[part] - b[part] for a, b in zip(after, before, strict=True)) / total
        load.cpu_ms["pg"] = 1000 * ((self.pg.cpu() if self.pg else 0.0) - pg0) / total
        assert load.errors == 0, f"{self.label}: {load.errors} failed requests at c={concurrency}"
        self.rounds.append(load)
        return load


@dataclass
class Compared:
    concurrency: int
    a: list[Load]
    b: list[Load]

    def ratios(self) -> list[float]:
        return [x.rps / y.rps for x, y in zip(self.a, self.b, strict=True)]

    @staticmethod
    def pooled(loads: list[Load]) -> list[float]:
        return [ms for load in loads for ms in load.latencies_ms]

    @staticmethod
    def cpu(loads: list[Load], part: str) -> float:
        return statistics.fmean(load.cpu_ms.get(part, 0.0) for load in loads)


def compare(a: Side, b: Side, concurrency: int, total: int, rounds: int, streaming: bool = False) -> Compared:
    xs: list[Load] = []
    ys: list[Load] = []
    for r in range(rounds):
        order = (a, b) if r % 2 == 0 else (b, a)
        got = {side.label: side.measure(concurrency, total, streaming) for side in order}
        xs.append(got[a.label])
        ys.append(got[b.label])
    return Compared(concurrency, xs, ys)


def print_table(title: str, a: str, b: str, rows: list[Compared], *, cpu: bool = True) -> None:
    print(f"\n{title}", flush=True)
    print(
        f"  {'c':>3} {a + ' req/s':>14} {b + ' req/s':>14}  ratio [95% CI]      "
        f"p50 {a}/{b} ms      p99 {a}/{b} ms   p99 x    p50 +ms  p99 +ms",
        flush=True,
    )
    for row in rows:
        m, h = mean_ci(row.ratios())
        la, lb = Compared.pooled(row.a), Compared.pooled(row.b)
        ra = statistics.fmean(x.rps for x in row.a)
        rb = statistics.fmean(x.rps for x in row.b)
        print(
            f"  {row.concurrency:>3} {ra:14.1f} {rb:14.1f}  {m:5.2f} [{m - h:4.2f}, {m + h:4.2f}]   "
            f"{pct(la, 50):7.1f} / {pct(lb, 50):7.1f}   {pct(la, 99):7.1f} / {pct(lb, 99):7.1f}  "
            f"{pct(la, 99) / pct(lb, 99):5.2f}  {pct(la, 50) - pct(lb, 50):+8.1f} {pct(la, 99) - pct(lb, 99):+8.1f}",
            flush=True,
        )
    if cpu:
        print(f"  CPU per request (ms): {a}: LiteLLM / engine / PostgreSQL;  {b}: LiteLLM", flush=True)
        for row in rows:
            print(
                f"  {row.concurrency:>3}   {Compared.cpu(row.a, 'litellm'):5.1f} / {Compared.cpu(row.a, 'engine'):4.2f} / "
                f"{Compared.cpu(row.a, 'pg'):4.2f}      {Compared.cpu(row.b, 'litellm'):5.1f}",
                flush=True,
            )


def statements_per_request(db_url: str, requests: int, top: int = 8) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT calls, total_exec_time, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements "
            "WHERE query NOT ILIKE '%%pg_stat_statements%%' ORDER BY total_exec_time DESC LIMIT %s",
            (top,),
        ).fetchall()
        total_calls = conn.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'"
        ).fetchone()
    calls = float(total_calls[0]) if total_calls else 0.0
    print(
        f"  statements per request: {calls / requests:.3f} (all statements / requests); by database time:", flush=True
    )
    for n, ms, query in rows:
        print(f"    {n / requests:7.3f}/req {ms / requests:6.3f} ms/req  {query[:110]}", flush=True)


def reset_statements(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def fold(path: Path, top: int = 40) -> None:
    """Inclusive and self shares of a py-spy folded profile."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0

    def name(frame: str) -> str:
        func, _, loc = frame.partition(" (")
        return f"{func} {loc.split(':')[0].rsplit('/', 1)[-1]}"

    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [name(f) for f in stack.split(";")]
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    print(f"{total} samples; inclusive:")
    for f, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}% {f}")
    print("self:")
    for f, n in own.most_common(15):
        print(f"  {100 * n / total:5.1f}% {f}")


def profile(proxy: Proxy, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("  (py-spy not installed: no profile)", flush=True)
        return None
    root = psutil.Process(proxy.proc.pid)
    workers = [p for p in root.children(recursive=True) if "server.mjs" not in " ".join(p.cmdline())]
    target = workers[-1].pid if workers else root.pid
    argv = [
        str(spy),
        "record",
        "-p",
        str(target),
        "-o",
        str(out),
        "-f",
        "raw",
        "-d",
        str(seconds),
        "-r",
        "97",
        "--nonblocking",
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------
# Cold start


def cold_start(db_url: str, master_key: str, simulator_url: str) -> dict[str, float]:
    """`litemaas proxy` to readiness, split: ours before LiteLLM starts, the engine, LiteLLM."""
    from litemaas.proxy_runtime import supervisor

    port = free_port()
    env = dict(os.environ)
    env.update(
        LITEMAAS_LITELLM_DATABASE_URL=db_url,
        LITEMAAS_MASTER_KEY=master_key,
        LITEMAAS_SIMULATOR_URL=simulator_url,
        LITEMAAS_PROXY_PORT=str(port),
        LITEMAAS_STATE_DIR=str(BENCH_DIR / f"cold-{port}"),
    )
    started_wall = time.time()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "litemaas.cli", "proxy"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    spawned: float | None = None
    engine_spawned: float | None = None
    engine_listening: float | None = None
    ready: float | None = None
    try:
        root = psutil.Process(proc.pid)
        deadline = started + 300
        while time.monotonic() < deadline and ready is None:
            for child in root.children(recursive=True):
                try:
                    cmd = " ".join(child.cmdline())
                    if spawned is None and "litellm" in cmd and "--config" in cmd:
                        spawned = child.create_time() - started_wall
                    if "server.mjs" in cmd:
                        if engine_spawned is None:
                            engine_spawned = child.create_time() - started_wall
                        if engine_listening is None and any(
                            c.status == psutil.CONN_LISTEN for c in child.net_connections("tcp")
                        ):
                            engine_listening = time.monotonic() - started
                except psutil.Error:
                    continue
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/readiness", timeout=1).status_code == 200:
                    ready = time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    finally:
        supervisor.stop(proc)
    assert ready is not None and spawned is not None, "the proxy did not become ready"
    return {
        "ready": ready,
        "ours_before_litellm": spawned,
        "engine_spawned": engine_spawned or float("nan"),
        "engine_start": (engine_listening or float("nan")) - (engine_spawned or float("nan")),
    }


def prelaunch_steps(db_url: str, master_key: str) -> dict[str, float]:
    """Each of our steps before LiteLLM starts, timed in this process (imports already warm)."""
    from litemaas.config import Settings
    from litemaas.proxy_runtime import prisma_client, supervisor
    from litemaas.proxy_runtime.litellm_schema import migrate

    out: dict[str, float] = {}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import litemaas.cli"], check=True)
    out["python + litemaas.cli import (new process)"] = time.perf_counter() - t
    t = time.perf_counter()
    migrate(db_url)
    out["migrations check (all applied)"] = time.perf_counter() - t
    t = time.perf_counter()
    prisma_client.client_is_generated()
    out["Prisma client generated? (stamp)"] = time.perf_counter() - t
    settings = Settings(master_key=master_key, litellm_database_url=db_url, proxy_port=free_port())
    t = time.perf_counter()
    supervisor.build_launch(settings, state_dir=BENCH_DIR / "prelaunch")
    out["config rendering + launch checks"] = time.perf_counter() - t
    return out


# --------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    rounds: int = args.rounds
    levels: list[int] = args.levels

    def total(c: int) -> int:
        return max(args.requests, c * 6)

    print("\n== Proxy under a full room (issue 12): ours vs bare LiteLLM ==", flush=True)
    print(
        f"  {os.cpu_count()} CPUs; {rounds} interleaved rounds per level; simulator TTFT 200 ms (streaming)", flush=True
    )
    from litemaas.proxy_runtime import prisma_client

    prisma_client.generate_client()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    sim = start_simulator(ttft_ms=200)
    pg = BenchPostgres()
    master_key = "sk-bench-" + secrets.token_hex(12)
    proxies: list[Proxy] = []
    try:
        db = pg.create("litellm_single")
        ours = start_ours("ours", db, master_key, sim.url)
        bare = start_bare("bare", master_key, sim.url)
        proxies += [ours, bare]
        s_ours, s_bare = Side("ours", [ours], pg), Side("bare", [bare])
        rows = []
        for c in levels:
            reset_statements(db)
            spy = None
            if args.profile and c == 32:
                spy = profile(ours, 20, BENCH_DIR / "proxy-profile-c32.txt")
            rows.append(compare(s_ours, s_bare, c, total(c), rounds))
            if spy is not None:
                spy.wait()
            if c == 32:
                print_table("[1] 1 worker, no Redis", "ours", "bare", rows)
                statements_per_request(db, rounds * total(c))
                rows = []
        if rows:
            print_table("[1] (continued)", "ours", "bare", rows)

        kg = asyncio.run(key_generate_rate(ours.url, master_key, 100, 4))
        assert kg.errors == 0, kg.errors
        print("  " + kg.line(), flush=True)

        # Hooks on vs off: the same governed proxy with and without our callbacks/guardrails.
        nohooks = start_ours("no-hooks", db, master_key, sim.url, hooks=False)
        proxies.append(nohooks)
        s_nohooks = Side("nohooks", [nohooks], pg)
        hook_rows = [compare(s_ours, s_nohooks, c, total(c), args.hook_rounds) for c in (8, 32)]
        print_table(
            "[2] hooks on / off (ours with and without LiteMaaS hooks)", "ours", "nohooks", hook_rows, cpu=False
        )
        for p in (nohooks, ours):
            p.stop()
            proxies.remove(p)

        with private_redis() as redis_url:
            db_r = pg.create("litellm_redis")
            ours_r = start_ours("ours+redis", db_r, master_key, sim.url, redis_url=redis_url)
            proxies.append(ours_r)
            s_r = Side("ours", [ours_r], pg)
            reset_statements(db_r)
            rrows = [compare(s_r, s_bare, c, total(c), rounds) for c in levels if c >= 8]
            print_table("[3] with Redis (the HA configuration), 1 worker", "ours", "bare", rrows)
            statements_per_request(db_r, rounds * sum(total(c) for c in levels if c >= 8))

            # What the 0.5 s key-cache TTL (revocation within a second on every replica) costs:
            # the same proxy with LiteLLM's default 60 s TTL, interleaved.
            long_ttl = start_ours(
                "ours, key cache 60 s",
                db_r,
                master_key,
                sim.url,
                redis_url=redis_url,
                settings={"proxy_key_cache_ttl_seconds": 60.0},
            )
            proxies.append(long_ttl)
            reset_statements(db_r)
            trows = [compare(s_r, Side("ttl60", [long_ttl], pg), 32, total(32), rounds)]
            print_table(
                "[3b] Redis: key cache TTL 0.5 s (ours) vs 60 s (LiteLLM's default; revocation up to 60 s late)",
                "ours",
                "ttl60",
                trows,
            )
            statements_per_request(db_r, 2 * rounds * total(32), top=3)
            long_ttl.stop()
            proxies.remove(long_ttl)

            srows = [compare(s_r, s_bare, 32, max(160, total(32) // 2), rounds, streaming=True)]
            print_table(
                "[4] streaming: time to first token at c=32 (simulator TTFT 200 ms)", "ours", "bare", srows, cpu=False
            )

            # Two replicas sharing Redis and the database, against two bare LiteLLMs.
            ours_r2 = start_ours("ours+redis #2", db_r, master_key, sim.url, redis_url=redis_url)
            bare2 = start_bare("bare #2", master_key, sim.url)
            proxies += [ours_r2, bare2]
            # Replica 2 uses replica 1's key: the key lives in the shared database.
            ours_r2.key = ours_r.key
            two_ours = Side("ours", [ours_r, ours_r2], pg)
            two_bare = Side("bare", [bare, bare2])
            reprows = [compare(two_ours, two_bare, c, total(c), rounds) for c in (32, 64)]
            print_table("[5] 2 replicas (shared Redis + DB) vs 2 bare, client round-robin", "ours", "bare", reprows)
            for p in (ours_r2, bare2, ours_r, bare):
                p.stop()
                proxies.remove(p)

            ours_w = start_ours("ours 2w", db_r, master_key, sim.url, redis_url=redis_url, workers=2)
            bare_w = start_bare("bare 2w", master_key, sim.url, workers=2)
            proxies += [ours_w, bare_w]
            wrows = [compare(Side("ours", [ours_w], pg), Side("bare", [bare_w]), c, total(c), rounds) for c in (32, 64)]
            print_table("[6] 2 LiteLLM workers each (Redis)", "ours", "bare", wrows)
            for p in (ours_w, bare_w):
                p.stop()
                proxies.remove(p)

        print("\n[7] cold start", flush=True)
        for step, secs in prelaunch_steps(db, master_key).items():
            print(f"  ours: {step:<44} {secs:6.2f} s", flush=True)
        cs = cold_start(db, master_key, sim.url)
        print(
            f"  `litemaas proxy` -> ready {cs['ready']:.1f} s: ours before LiteLLM starts {cs['ours_before_litellm']:.2f} s; "
            f"engine sidecar start {cs['engine_start']:.2f} s (inside LiteLLM's start); "
            f"LiteLLM import + start {cs['ready'] - cs['ours_before_litellm']:.1f} s",
            flush=True,
        )
    finally:
        for p in proxies:
            p.stop()
        sim.proc.terminate()
        pg.stop()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32, 64])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--hook-rounds", type=int, default=8)
    p.add_argument("--requests", type=int, default=150, help="requests per round (at least 6 x concurrency)")
    p.add_argument("--profile", action="store_true", help="py-spy profile of LiteLLM at c=32")
    p.add_argument("--fold", type=Path, help="print the shares of a folded py-spy profile and exit")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.fold:
        fold(args.fold)
        return
    run(args)


if __name__ == "__main__":
    main()
