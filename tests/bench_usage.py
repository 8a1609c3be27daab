"""Usage analytics figures for ``make bench`` (functions, not tests), at a million daily rows.

    python -m tests.bench_usage                          # 1,000,000 rows, 2,000 users, 4,000 keys, 7 models, 90 days
    python -m tests.bench_usage --rows 200000            # smaller
    python -m tests.bench --only usage                   # through the shared bench entry point

LiteLLM's spend table is seeded in bulk with SQL in a benchmark database (the benchmark may; the
product never writes there), the matching users, keys and token hashes in LiteMaaS's database;
then, against a real ``litemaas serve`` process:

- cache fill: one full day, and the whole 90 days (forced rebuilds, in process);
- admin analytics over 90 days, no filter and each filter kind: cold (result cache invalidated
  before each request) and warm p50/p99;
- user analytics over 90 days: p50/p99, first request per user (cold) and repeated (warm);
- export of every row as CSV: rows/s and the backend's peak RSS growth.

Asserted (correctness only): the analytics totals equal LiteLLM's own sums, the export holds every row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psutil
import psycopg

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.support.stack import LOG_DIR, REPO, create_database, database_url, drop_database, free_port

MODELS = (
    ("granite-3-2-8b-instruct", "hosted_vllm", "/chat/completions"),
    ("llama-scout-17b", "hosted_vllm", "/chat/completions"),
    ("granite-4-0-h-tiny", "hosted_vllm", "/chat/completions"),
    ("codellama-7b-instruct", "hosted_vllm", "/chat/completions"),
    ("nomic-embed-text-v1-5", "hosted_vllm", "/embeddings"),
    ("granite-docling-258m", "watsonx", ""),
    ("gpt-4o-mini", "openai", "/chat/completions"),
)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def line(label: str, values: list[float], target: str = "") -> str:
    return f"  {label:<34} n={len(values):<4} p50={pct(values, 50):8.1f} ms  p99={pct(values, 99):8.1f} ms" + (
        f"   (target {target})" if target else ""
    )


@dataclass
class Bench:
    litellm_db: str
    litemaas_db: str
    start: date
    end: date
    users: int
    keys: int


def _async_url(name: str) -> str:
    return database_url(name).replace("postgresql://", "postgresql+asyncpg://", 1)


def seed(bench: Bench, rows: int) -> None:
    """LiteLLM's daily table (``rows`` rows over the days), and our users, keys and token hashes."""
    days = (bench.end - bench.start).days + 1
    models = len(MODELS)
    with psycopg.connect(database_url(bench.litellm_db), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE bench_models (i int, model text, provider text, endpoint text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_models VALUES (%s, %s, %s, %s)", [(i, *m) for i, m in enumerate(MODELS)])
        # Row i: day i % days, then key j % keys and, per key and day, model (k + j / keys) % 7 —
        # unique per LiteLLM's key (user, date, api_key, model, provider, tool, endpoint).
        conn.execute(
            f"""
            INSERT INTO "LiteLLM_DailyUserSpend" (id, updated_at, user_id, date, api_key, model, model_group,
                custom_llm_provider, endpoint, prompt_tokens, completion_tokens, spend, api_requests,
                successful_requests, failed_requests, total_response_time_ms, timed_requests)
            SELECT gen_random_uuid()::text, now(), 'bench-user-' || (k / 2), to_char(%(start)s::date + d, 'YYYY-MM-DD'),
                   encode(sha256(('bench-key-' || k)::bytea), 'hex'), m.provider || '/' || m.model, m.model,
                   m.provider, m.endpoint, p, c, p * 0.0000002 + c * 0.0000006, r, r - f, f, r * 40, r
            FROM (SELECT mod(i, {days}) AS d, mod(i / {days}, {bench.keys}) AS k,
                         mod(mod(i / {days}, {bench.keys}) + (i / {days}) / {bench.keys}, {models}) AS mi,
                         1 + mod(i * 7, 20) AS r, mod(i * 11, 3) AS f0, mod(i * 13, 2000) AS p,
                         mod(i * 17, 1000) AS c, i
                  FROM generate_series(0, %(rows)s - 1) i) g
            CROSS JOIN LATERAL (SELECT least(g.f0, g.r) AS f) ff
            JOIN bench_models m ON m.i = g.mi
            """,
            {"start": bench.start, "rows": rows},
        )
        conn.execute('ANALYZE "LiteLLM_DailyUserSpend"')
    with psycopg.connect(database_url(bench.litemaas_db), autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO users (id, username, identity_provider, subject)
            SELECT md5('bench-user-' || u)::uuid, 'bench-user-' || u, 'dev', 'bench-user-' || u
            FROM generate_series(0, %(users)s - 1) u
            """,
            {"users": bench.users},
        )
        conn.execute(
            """
            INSERT INTO api_keys (id, user_id, alias, token_hash, last4)
            SELECT md5('bench-key-' || k)::uuid, md5('bench-user-' || (k / 2))::uuid, 'key-' || mod(k, 2),
                   encode(sha256(('bench-key-' || k)::bytea), 'hex'), lpad(mod(k, 10000)::text, 4, '0')
            FROM generate_series(0, %(keys)s - 1) k
            """,
            {"keys": bench.keys},
        )
        conn.execute(
            "INSERT INTO api_key_tokens (token_hash, key_id, user_id, last4) "
            "SELECT token_hash, id, user_id, last4 FROM api_keys"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO catalog_models (id, name, display_name, capabilities) VALUES (%s, %s, %s, %s)",
                [
                    (uuid.uuid4(), name, name, ["document_conversion"] if not endpoint else ["chat", "tokenize"])
                    for name, _, endpoint in MODELS
                ],
            )


def litellm_totals(bench: Bench) -> tuple[int, int, float]:
    with psycopg.connect(database_url(bench.litellm_db)) as conn:
        row = conn.execute(
            'SELECT sum(api_requests), sum(prompt_tokens + completion_tokens), sum(spend) FROM "LiteLLM_DailyUserSpend"'
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2])


async def cache_fill(bench: Bench) -> tuple[float, float, int]:
    """Seconds to rebuild one full day, then the whole range (in this process, like the CLI)."""
    from litemaas.db import create_engine, create_sessionmaker
    from litemaas.litellm_admin import LiteLLMDailySpend
    from litemaas.logging import configure_logging
    from litemaas.usage import refresh

    configure_logging("WARNING", json_output=False)
    from litemaas.usage.service import AnalyticsCache, UsageRuntime

    engine = create_engine(_async_url(bench.litemaas_db), pool_size=2, max_overflow=2)
    source = LiteLLMDailySpend(database_url(bench.litellm_db))
    policy = refresh.RefreshPolicy(ttl=timedelta(seconds=60), grace=timedelta(minutes=15))
    runtime = UsageRuntime(create_sessionmaker(engine), source, policy, AnalyticsCache())
    try:
        started = time.perf_counter()
        one = await refresh.refresh(runtime.sessionmaker, source, policy, bench.end, bench.end, force=True)
        one_day = time.perf_counter() - started
        started = time.perf_counter()
        full = await refresh.refresh(runtime.sessionmaker, source, policy, bench.start, bench.end, force=True)
        whole = time.perf_counter() - started
        # The previous period (empty) too, so the analytics below never wait for a first fetch.
        await refresh.refresh(
            runtime.sessionmaker, source, policy, bench.start - timedelta(days=120), datetime.now(UTC).date()
        )
        assert one.days_fetched == 1 and full.days_fetched == (bench.end - bench.start).days + 1
        return one_day, whole, full.rows
    finally:
        await source.aclose()
        await engine.dispose()


@contextmanager
def backend(bench: Bench) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "LITEMAAS_ENVIRONMENT": "development",
            "LITEMAAS_DATABASE_URL": _async_url(bench.litemaas_db),
            "LITEMAAS_LITELLM_DATABASE_URL": database_url(bench.litellm_db),
            "LITEMAAS_SESSION_SECRET": secrets.token_urlsafe(48),
            "LITEMAAS_DEV_LOGIN_ENABLED": "true",
            "LITEMAAS_COOKIE_SECURE": "false",
            "LITEMAAS_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "LITEMAAS_PROXY_URL": f"http://127.0.0.1:{free_port()}",
            "LITEMAAS_LOG_LEVEL": "WARNING",
        }
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # The child keeps its own copy of the log file; ours closes once it has started.
    with open(LOG_DIR / f"bench-usage-backend-{port}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "serve", "--port", str(port)],
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
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("backend did not start; see " + str(LOG_DIR))
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _client(url: str, username: str, role: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=300)
    response = await client.post("/auth/dev", data={"username": username, "role": role})
    assert response.status_code == 303, response.text
    client.headers["X-CSRF-Token"] = client.cookies["litemaas_csrf"]
    return client


async def _timed(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await client.post(path, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text[:500]
    return elapsed, response.json()


async def admin_analytics(url: str, bench: Bench, cold: int, warm: int) -> list[str]:
    admin = await _client(url, "bench-admin", "admin")
    base = {"start_date": bench.start.isoformat(), "end_date": bench.end.isoformat()}
    key_ids = [str(uuid.UUID(_md5(f"bench-key-{k}"))) for k in range(0, bench.keys, bench.keys // 10)]
    filters: dict[str, dict[str, Any]] = {
        "no filter": {},
        "users (10)": {"users": [str(uuid.UUID(_md5(f"bench-user-{u}"))) for u in range(10)]},
        "models (1)": {"models": [MODELS[0][0]]},
        "providers (1)": {"providers": ["openai"]},
        "keys (10)": {"keys": key_ids},
    }
    lines = []
    expected = litellm_totals(bench)
    for label, extra in filters.items():
        body = {**base, **extra}
        cold_ms: list[float] = []
        for _ in range(cold):
            # A rebuild of one empty day moves the cache version: the next request misses the result cache.
            invalidate = await admin.post(
                "/api/v1/admin/usage/rebuild", json={"start_date": "2001-01-01", "end_date": "2001-01-01"}
            )
            assert invalidate.status_code == 200, invalidate.text
            ms, result = await _timed(admin, "/api/v1/admin/usage/analytics", body)
            cold_ms.append(ms)
        warm_ms = [(await _timed(admin, "/api/v1/admin/usage/analytics", body))[0] for _ in range(warm)]
        if not extra:
            totals = result["totals"]
            assert (totals["requests"], totals["total_tokens"]) == expected[:2], (totals, expected)
            assert abs(totals["spend"] - expected[2]) < 0.005
        lines.append(line(f"admin 90 d, {label}, cold", cold_ms, "<= 2000 ms"))
        lines.append(line(f"admin 90 d, {label}, warm", warm_ms, "<= 100 ms"))
    await admin.aclose()
    return lines


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()  # the seed's ids, not security


async def user_analytics(url: str, bench: Bench, users: int, repeats: int) -> list[str]:
    base = {"start_date": bench.start.isoformat(), "end_date": bench.end.isoformat()}
    cold_ms: list[float] = []
    warm_ms: list[float] = []
    for u in range(0, bench.users, max(1, bench.users // users)):
        client = await _client(url, f"bench-user-{u}", "user")
        ms, result = await _timed(client, "/api/v1/usage/analytics", base)
        cold_ms.append(ms)
        assert result["totals"]["requests"] > 0
        for _ in range(repeats):
            warm_ms.append((await _timed(client, "/api/v1/usage/analytics", base))[0])
        await client.aclose()
    return [
        line("user 90 d, first request (cold)", cold_ms, "<= 50 ms"),
        line("user 90 d, repeated (warm)", warm_ms, "<= 50 ms"),
    ]


def export_all(url: str, proc: subprocess.Popen[bytes], bench: Bench, expected_rows: int) -> str:
    server = psutil.Process(proc.pid)
    baseline = server.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    with httpx.Client(base_url=url, timeout=600) as client:
        assert client.post("/auth/dev", data={"username": "bench-exporter", "role": "admin"}).status_code == 303
        params = {"start_date": bench.start.isoformat(), "end_date": bench.end.isoformat()}
        sampler.start()
        started = time.perf_counter()
        lines = 0
        size = 0
        with client.stream("GET", "/api/v1/admin/usage/export", params=params) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                lines += chunk.count(b"\n")
                size += len(chunk)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    rows = lines - 1
    assert rows == expected_rows, (rows, expected_rows)
    return (
        f"  export all rows as CSV: {rows:,} rows, {size / 2**20:.0f} MiB in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
        f"backend peak RSS growth {(peak - baseline) / 2**20:.1f} MiB (target < 100 MiB)"
    )


def run(rows: int = 1_000_000, users: int = 2000, keys: int = 4000, days: int = 90) -> None:
    from litemaas.proxy_runtime.migrations import migrate

    from litemaas.migrations import upgrade

    end = datetime.now(UTC).date() - timedelta(days=1)
    bench = Bench(
        litellm_db=create_database("bench_usage_litellm"),
        litemaas_db=create_database("bench_usage_litemaas"),
        start=end - timedelta(days=days - 1),
        end=end,
        users=users,
        keys=keys,
    )
    try:
        migrate(database_url(bench.litellm_db))
        upgrade(_async_url(bench.litemaas_db))
        print(
            f"\n== usage analytics: {rows:,} daily rows, {users:,} users, {keys:,} keys, {len(MODELS)} models, {days} days"
        )
        started = time.perf_counter()
        seed(bench, rows)
        print(f"  seeded LiteLLM's daily table in {time.perf_counter() - started:.1f} s")
        one_day, whole, copied = asyncio.run(cache_fill(bench))
        print(f"  cache fill, one full day ({rows // days:,} LiteLLM rows): {one_day:.2f} s")
        print(f"  cache fill, whole {days} days ({copied:,} rows): {whole:.1f} s")
        with backend(bench) as (url, proc):
            for text in asyncio.run(admin_analytics(url, bench, cold=5, warm=30)):
                print(text, flush=True)
            for text in asyncio.run(user_analytics(url, bench, users=40, repeats=3)):
                print(text, flush=True)
            print(export_all(url, proc, bench, copied), flush=True)
    finally:
        drop_database(bench.litemaas_db)
        drop_database(bench.litellm_db)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=4000)
    parser.add_argument("--days", type=int, default=90)
    args, _ = parser.parse_known_args(argv)
    run(args.rows, args.users, args.keys, args.days)


if __name__ == "__main__":
    main()
