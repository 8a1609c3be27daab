"""Backend figures for ``make bench`` (functions, not tests): real backend process, proxy and simulator.

    python -m tests.bench_backend                       # everything, default sizes
    python -m tests.bench_backend --attendees 200 --burst-concurrency 50 --backend-workers 1
    python -m tests.bench --only backend                # through the shared bench entry point

Sections:

- workshop burst: N attendees, C at a time, each logs in (development login), subscribes to two
  models and creates a key: total seconds, p50/p99 per step, error rate;
- key listing: p50/p99 of ``GET /api/v1/keys`` for a user with 10 keys (spend fetched in bulk);
- approval queue: p50/p99 of ``GET /api/v1/admin/subscriptions`` over 10,000 subscriptions.

Only correctness is asserted (every key exists in LiteLLM, listings are complete).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.support.stack import (
    LOG_DIR,
    REDIS_URL,
    REPO,
    create_database,
    database_url,
    drop_database,
    free_port,
    start_proxy,
    start_simulator,
)

MODELS = ("granite-3-2-8b-instruct", "granite-4-0-h-tiny")
RESTRICTED = "llama-guard-3-1b"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Step:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        n = len(self.latencies_ms) + len(self.errors)
        return (
            f"  {self.name:<22} n={n:<5} p50={pct(self.latencies_ms, 50):8.1f} ms  "
            f"p99={pct(self.latencies_ms, 99):8.1f} ms  errors={len(self.errors)}"
        )


@dataclass
class Stack:
    backend_url: str
    proxy_url: str
    master_key: str
    litemaas_db: str
    backend: subprocess.Popen[bytes]
    simulator_url: str = ""
    # LiteLLM's own database (the events bench counts what the joins made there).
    litellm_db: str = ""


def _async_url(name: str) -> str:
    return database_url(name).replace("postgresql://", "postgresql+asyncpg://", 1)


@contextmanager
def stack(
    *, workers: int = 1, redis: bool = True, sim_ttft_ms: float = 0.0, extra_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Fresh databases, the simulator, a LiteLLM proxy and ``litemaas serve`` — all real processes."""
    from litemaas.migrations import upgrade
    from litemaas.proxy_runtime.litellm_schema import migrate

    litellm_db = create_database("bench_litellm")
    litemaas_db = create_database("bench_litemaas")
    migrate(database_url(litellm_db))
    upgrade(_async_url(litemaas_db))
    sim = start_simulator(ttft_ms=sim_ttft_ms)
    master_key = "sk-bench-" + secrets.token_hex(12)
    proxy = start_proxy(
        db_url=database_url(litellm_db),
        master_key=master_key,
        simulator_url=sim.url,
        redis_url=REDIS_URL if redis else None,
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITEMAAS_ENVIRONMENT": "development",
            "LITEMAAS_DATABASE_URL": _async_url(litemaas_db),
            "LITEMAAS_REDIS_URL": REDIS_URL,
            "LITEMAAS_REDIS_KEY_PREFIX": f"litemaas-bench-{uuid.uuid4().hex[:8]}:",
            "LITEMAAS_SESSION_SECRET": secrets.token_urlsafe(48),
            "LITEMAAS_DEV_LOGIN_ENABLED": "true",
            "LITEMAAS_COOKIE_SECURE": "false",
            "LITEMAAS_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "LITEMAAS_PROXY_URL": proxy.url,
            "LITEMAAS_MASTER_KEY": master_key,
            "LITEMAAS_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # The child keeps its own copy of the log file; ours closes once it has started.
    with open(LOG_DIR / f"bench-backend-{port}.log", "ab") as log:
        backend = subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/v1/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if backend.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("backend did not start; see " + str(LOG_DIR))
            time.sleep(0.2)
        yield Stack(url, proxy.url, master_key, litemaas_db, backend, sim.url, litellm_db)
    finally:
        backend.terminate()
        try:
            backend.wait(timeout=15)
        except subprocess.TimeoutExpired:
            backend.kill()
        proxy.stop()
        sim.proc.terminate()
        sim.proc.wait(timeout=10)
        drop_database(litemaas_db)
        drop_database(litellm_db)


async def login(client: httpx.AsyncClient, username: str, role: str = "user") -> None:
    response = await client.post("/auth/dev", data={"username": username, "role": role})
    if response.status_code != 303:
        raise RuntimeError(f"login {response.status_code}: {response.text[:200]}")
    client.headers["X-CSRF-Token"] = client.cookies.get("litemaas_csrf") or ""


def _client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=120.0)


async def _timed(step: Step, call: Callable[[], Awaitable[httpx.Response]], expect: int) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await call()
    except httpx.HTTPError as exc:
        step.errors.append(type(exc).__name__)
        return None
    if response.status_code != expect:
        step.errors.append(f"{response.status_code} {response.text[:120]}")
        return None
    step.latencies_ms.append((time.perf_counter() - started) * 1000)
    return response


async def sync_catalog(base_url: str) -> None:
    async with _client(base_url) as admin:
        await login(admin, f"bench-admin-{uuid.uuid4().hex[:6]}", "admin")
        response = await admin.post("/api/v1/admin/models/sync")
        response.raise_for_status()


# --------------------------------------------------------------------------- workshop burst


async def workshop_burst(base_url: str, attendees: int = 200, concurrency: int = 50) -> dict[str, Any]:
    """Each attendee: dev login, subscribe to two models, create a key. Returns the figures."""
    steps = {name: Step(name) for name in ("login", "subscribe", "create_key", "attendee_total")}
    semaphore = asyncio.Semaphore(concurrency)
    run = uuid.uuid4().hex[:6]
    keys: list[str] = []

    async def attendee(i: int) -> None:
        async with semaphore, _client(base_url) as client:
            started = time.perf_counter()
            ok = True
            t0 = time.perf_counter()
            try:
                await login(client, f"attendee-{run}-{i}")
                steps["login"].latencies_ms.append((time.perf_counter() - t0) * 1000)
            except (RuntimeError, httpx.HTTPError) as exc:
                steps["login"].errors.append(str(exc)[:120])
                return
            for model in MODELS:
                ok &= (
                    await _timed(
                        steps["subscribe"], lambda m=model: client.post("/api/v1/subscriptions", json={"model": m}), 201
                    )
                    is not None
                )
            created = await _timed(
                steps["create_key"],
                lambda: client.post("/api/v1/keys", json={"alias": "workshop", "models": list(MODELS)}),
                201,
            )
            if created is not None:
                keys.append(created.json()["key"])
            if ok and created is not None:
                steps["attendee_total"].latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                steps["attendee_total"].errors.append("incomplete")

    started = time.perf_counter()
    await asyncio.gather(*(attendee(i) for i in range(attendees)))
    total = time.perf_counter() - started
    requests = sum(len(s.latencies_ms) + len(s.errors) for n, s in steps.items() if n != "attendee_total")
    errors = sum(len(s.errors) for n, s in steps.items() if n != "attendee_total")
    return {"steps": steps, "seconds": total, "requests": requests, "errors": errors, "keys": keys}


# --------------------------------------------------------------------------- key listing


async def key_listing(base_url: str, keys: int = 10, iterations: int = 200) -> Step:
    step = Step(f"GET /keys ({keys} keys)")
    async with _client(base_url) as client:
        await login(client, f"lister-{uuid.uuid4().hex[:6]}")
        for model in MODELS:
            (await client.post("/api/v1/subscriptions", json={"model": model})).raise_for_status()
        for i in range(keys):
            (await client.post("/api/v1/keys", json={"alias": f"k{i}", "models": list(MODELS)})).raise_for_status()
        for _ in range(5):  # warm-up
            await client.get("/api/v1/keys")
        for _ in range(iterations):
            response = await _timed(step, lambda: client.get("/api/v1/keys"), 200)
            if response is not None:
                body = response.json()
                assert len(body["items"]) == keys and body["usage_available"], body
    return step


# --------------------------------------------------------------------------- approval queue


def seed_subscriptions(litemaas_db: str, total: int = 10_000, per_user: int = 5) -> None:
    """``total`` subscriptions over ``total / per_user`` users, straight into the database."""
    with psycopg.connect(database_url(litemaas_db)) as conn:
        models = [row[0] for row in conn.execute("SELECT id FROM catalog_models ORDER BY name").fetchall()]
        guard = conn.execute("SELECT id FROM catalog_models WHERE name = %s", (RESTRICTED,)).fetchone()
        assert guard is not None and len(models) >= per_user
        others = [m for m in models if m != guard[0]]
        users = total // per_user
        run = uuid.uuid4().hex[:6]
        with conn.cursor() as cur:
            user_ids = [uuid.uuid4() for _ in range(users)]
            with cur.copy("COPY users (id, username, identity_provider, subject, role) FROM STDIN") as copy:
                for i, user_id in enumerate(user_ids):
                    copy.write_row((user_id, f"queue-{run}-{i}", "dev", f"queue-{run}-{i}", "user"))
            statuses = ("pending", "active", "active", "denied", "cancelled")
            with cur.copy("COPY subscriptions (id, user_id, model_id, status) FROM STDIN") as copy:
                for i, user_id in enumerate(user_ids):
                    chosen = [guard[0], *others[: per_user - 1]]
                    for j, model_id in enumerate(chosen):
                        status = "pending" if model_id == guard[0] else statuses[(i + j) % len(statuses)]
                        copy.write_row((uuid.uuid4(), user_id, model_id, status))
        conn.execute("ANALYZE subscriptions")
        conn.commit()


async def approval_queue(base_url: str, expected: int = 10_000, iterations: int = 100) -> list[Step]:
    queries = {
        "queue: pending": {"status": "pending", "limit": 50},
        "queue: all, page 20": {"limit": 50, "offset": 1000},
        "queue: pending+model": {"status": "pending", "model": RESTRICTED, "limit": 50},
    }
    results = []
    async with _client(base_url) as admin:
        await login(admin, f"queue-admin-{uuid.uuid4().hex[:6]}", "admin")
        total = (await admin.get("/api/v1/admin/subscriptions", params={"limit": 1})).json()["total"]
        assert total >= expected, total
        for name, params in queries.items():
            step = Step(name)
            for _ in range(3):
                await admin.get("/api/v1/admin/subscriptions", params=params)
            for _ in range(iterations):
                response = await _timed(step, lambda p=params: admin.get("/api/v1/admin/subscriptions", params=p), 200)
                if response is not None:
                    assert len(response.json()["items"]) == 50
            results.append(step)
    return results


# --------------------------------------------------------------------------- entry points


async def _verify_keys(proxy_url: str, master_key: str, secrets_issued: list[str]) -> int:
    """Every issued key exists in LiteLLM (counted with one paged listing)."""
    import hashlib

    wanted = {hashlib.sha256(s.encode()).hexdigest() for s in secrets_issued}
    found: set[str] = set()
    async with httpx.AsyncClient(base_url=proxy_url, headers={"Authorization": f"Bearer {master_key}"}) as admin:
        page = 1
        while True:
            body = (await admin.get("/key/list", params={"page": page, "size": 100})).json()
            found |= set(body["keys"]) & wanted
            if page >= (body.get("total_pages") or 1):
                break
            page += 1
    return len(found)


def run(attendees: int = 200, concurrency: int = 50, workers: int = 1, queue_size: int = 10_000) -> None:
    with stack(workers=workers) as s:
        asyncio.run(sync_catalog(s.backend_url))
        print(f"\n== backend: workshop burst ({attendees} attendees, concurrency {concurrency}, {workers} worker(s))")
        burst = asyncio.run(workshop_burst(s.backend_url, attendees, concurrency))
        rate = burst["errors"] / burst["requests"] if burst["requests"] else 0.0
        print(f"  total {burst['seconds']:.1f} s for {burst['requests']} requests, error rate {rate:.2%}")
        for step in burst["steps"].values():
            print(step.line())
        for err in sorted({e for st in burst["steps"].values() for e in st.errors})[:5]:
            print(f"  error sample: {err}")
        present = asyncio.run(_verify_keys(s.proxy_url, s.master_key, burst["keys"]))
        assert present == len(burst["keys"]), (present, len(burst["keys"]))
        print(f"  keys verified in LiteLLM: {present}/{len(burst['keys'])}")
        # For scale: the same number of bare /key/generate calls straight to LiteLLM.
        from tests.bench import key_generate_rate

        bare = asyncio.run(key_generate_rate(s.proxy_url, s.master_key, attendees, concurrency))
        print(f"  for comparison, LiteLLM alone: {bare.line()}")

        print("\n== backend: key listing (spend in one /key/list call)")
        print(asyncio.run(key_listing(s.backend_url)).line())

        print(f"\n== backend: admin approval queue ({queue_size:,} subscriptions)")
        seed_subscriptions(s.litemaas_db, total=queue_size)
        for step in asyncio.run(approval_queue(s.backend_url, queue_size)):
            print(step.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attendees", type=int, default=int(os.environ.get("BENCH_ATTENDEES", "200")))
    parser.add_argument("--burst-concurrency", type=int, default=int(os.environ.get("BENCH_CONCURRENCY", "50")))
    parser.add_argument("--backend-workers", type=int, default=int(os.environ.get("BENCH_BACKEND_WORKERS", "1")))
    parser.add_argument("--queue", type=int, default=10_000)
    args, _ = parser.parse_known_args()
    run(args.attendees, args.burst_concurrency, args.backend_workers, args.queue)


if __name__ == "__main__":
    main()
