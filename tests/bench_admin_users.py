"""Admin users page figures for ``make bench`` (functions, not tests), at 10,000 users.

    python -m tests.bench_admin_users                 # 10,000 users
    python -m tests.bench_admin_users --users 2000    # smaller
    python -m tests.bench --only admin_users          # through the shared bench entry point

A fresh LiteMaaS database (migrated) is seeded with SQL; the backend app runs in this process
and each request goes through the whole ASGI stack (session, permission, SQL, template), so the
time measured is the server's time for the page, with no network. Reported per view: p50/p99 of
``/admin/users`` (no filter, substring search, role filter, provider filter, a deep page) and of
the JSON list; plus the plan PostgreSQL picks for the search (it must use the trigram index ix_users_search_trgm).
Target: p99 ≤ 100 ms. The first line times ``/api/v1/auth/me`` (session and permission only) as
a baseline: on a loaded machine compare the views with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time

import httpx
import psycopg

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litemaas.models.user import SEARCH_TEXT
from tests.support.stack import create_database, database_url, drop_database, free_port

TARGET_P99_MS = 100.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def _async_url(name: str) -> str:
    return "postgresql+asyncpg://" + database_url(name).split("://", 1)[1]


def seed(name: str, users: int) -> None:
    """``users`` users: mixed roles, providers and activation, realistic names and e-mails."""
    with psycopg.connect(database_url(name), autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO users (id, username, email, display_name, identity_provider, subject, groups,
                               role, group_role, manual_role, is_active, last_login_at, created_at, updated_at)
            SELECT gen_random_uuid(),
                   'user' || lpad(n::text, 6, '0') || '-' || substr(md5(n::text), 1, 6),
                   'person' || n || '@example' || (n %% 50) || '.com',
                   'Person ' || substr(md5(n::text || 'x'), 1, 10),
                   (ARRAY['openshift', 'oidc', 'dev'])[1 + n %% 3],
                   'subject-' || n,
                   ARRAY['workshop-' || (n %% 20)],
                   CASE WHEN n %% 500 = 0 THEN 'admin' WHEN n %% 200 = 0 THEN 'admin_readonly' ELSE 'user' END,
                   NULL,
                   CASE WHEN n %% 500 = 0 THEN 'admin' WHEN n %% 200 = 0 THEN 'admin_readonly' ELSE NULL END,
                   n %% 17 <> 0,
                   now() - (n || ' minutes')::interval, now(), now()
            FROM generate_series(1, %s) AS n
            """,
            (users,),
        )
        conn.execute("ANALYZE users")


def search_plan(name: str) -> str:
    with psycopg.connect(database_url(name)) as conn:
        rows = conn.execute(
            f"EXPLAIN SELECT * FROM users WHERE {SEARCH_TEXT} LIKE %s ORDER BY username LIMIT 50", ("%1234-%",)
        ).fetchall()
    return "\n".join("    " + r[0] for r in rows)


async def measure(client: httpx.AsyncClient, path: str, requests: int) -> tuple[float, float, int]:
    for _ in range(5):  # warm-up (template compilation, connection pool)
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return pct(times, 50), pct(times, 99), len(response.content)


async def run_views(name: str, requests: int) -> list[tuple[str, float, float]]:
    from litemaas.app import create_app
    from litemaas.config import Settings

    settings = Settings(
        _env_file=None,
        environment="development",
        database_url=_async_url(name),
        session_secret=secrets.token_urlsafe(48),
        dev_login_enabled=True,
        cookie_secure=False,
        proxy_url=f"http://127.0.0.1:{free_port()}",
        log_level="WARNING",
    )
    app = create_app(settings, configure_logs=True)
    results = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            response = await client.post("/auth/dev", data={"username": "bench-admin", "role": "admin"})
            assert response.status_code == 303, response.text
            views = (
                ("baseline: /api/v1/auth/me", "/api/v1/auth/me"),
                ("page, no filter", "/admin/users"),
                ("page, search 'user0042'", "/admin/users?q=user0042"),
                ("page, search e-mail 'example7.com'", "/admin/users?q=example7.com"),
                ("page, role=admin_readonly", "/admin/users?role=admin_readonly"),
                ("page, provider=oidc & active", "/admin/users?provider=oidc&active=true"),
                ("page, offset 9,000", "/admin/users?offset=9000"),
                ("API list, search 'person12'", "/api/v1/admin/users?search=person12&limit=50"),
            )
            for label, path in views:
                p50, p99, size = await measure(client, path, requests)
                results.append((label, p50, p99))
                print(f"  {label:<38} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ({size // 1024} KiB)", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per view")
    args = parser.parse_args(argv)
    from litemaas.migrations import upgrade

    name = create_database("bench_admin_users")
    try:
        upgrade(_async_url(name))
        started = time.perf_counter()
        seed(name, args.users)
        print(f"  seeded {args.users:,} users in {time.perf_counter() - started:.1f} s", flush=True)
        plan = search_plan(name)
        print("  plan of the substring search:\n" + plan, flush=True)
        assert "ix_users_search_trgm" in plan, "the search does not use its trigram index"
        results = asyncio.run(run_views(name, args.requests))
    finally:
        drop_database(name)
    worst = max(p99 for label, _, p99 in results if not label.startswith("baseline"))
    verdict = "within" if worst <= TARGET_P99_MS else "ABOVE"
    print(f"  worst p99 {worst:.1f} ms: {verdict} the {TARGET_P99_MS:.0f} ms target", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
