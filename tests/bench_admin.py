"""Admin console figures for ``make bench`` (functions, not tests): the approval queue and bulk approval.

    python -m tests.bench_admin                 # 10,000 users / 10,000 subscriptions, bulk of 1,000
    python -m tests.bench --only admin          # through the shared bench entry point

Against real processes (``litemaas serve``, a LiteLLM proxy, PostgreSQL), from ``bench_backend.stack``:

- the approval queue with 10,000 users and 10,000 subscriptions (seeded with COPY, a decision
  history of today included): p50/p99 of ``GET /admin/approvals`` (the page, counters included),
  the JSON list (pending, multi-status + model, page 100), the counters and the navigation badge;
- a bulk approval of 1,000 requests (200 users × 5 restricted models, one real LiteLLM key each):
  seconds, and the LiteLLM key updates made (``keys_updated``: one per key, not one per request).

Asserted (correctness only): the page lists 50 rows; every request of the bulk is approved; each
user's key in LiteLLM then carries the five models.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from tests.bench_backend import RESTRICTED, Step, _client, _timed, login, stack, sync_catalog
from tests.support.stack import database_url

BULK_USERS = 200
BULK_MODELS = 5


def seed_queue(litemaas_db: str, users: int = 10_000) -> None:
    """``users`` users with one subscription each (mixed statuses and models) and their history."""
    now = datetime.now(UTC)
    with psycopg.connect(database_url(litemaas_db)) as conn:
        models = [row[0] for row in conn.execute("SELECT id FROM catalog_models ORDER BY name").fetchall()]
        run = uuid.uuid4().hex[:6]
        statuses = ("pending", "active", "active", "denied", "cancelled")
        with conn.cursor() as cur:
            user_ids = [uuid.uuid4() for _ in range(users)]
            with cur.copy("COPY users (id, username, identity_provider, subject, role) FROM STDIN") as copy:
                for i, user_id in enumerate(user_ids):
                    copy.write_row((user_id, f"q-{run}-{i}", "dev", f"q-{run}-{i}", "user"))
            subs: list[tuple[uuid.UUID, str, datetime]] = []
            with cur.copy(
                "COPY subscriptions (id, user_id, model_id, status, status_reason, created_at, updated_at) FROM STDIN"
            ) as copy:
                for i, user_id in enumerate(user_ids):
                    sub_id, status = uuid.uuid4(), statuses[i % len(statuses)]
                    when = now - timedelta(minutes=i)
                    copy.write_row((sub_id, user_id, models[i % len(models)], status, "for my project", when, when))
                    subs.append((sub_id, status, when))
            with cur.copy(
                "COPY subscription_history (id, subscription_id, action, from_status, to_status, actor_label, occurred_at)"
                " FROM STDIN"
            ) as copy:
                for sub_id, status, when in subs:
                    copy.write_row(
                        (uuid.uuid4(), sub_id, "subscribe", None, "pending", "bench", when - timedelta(days=2))
                    )
                    if status in ("active", "denied"):
                        action = "approve" if status == "active" else "deny"
                        copy.write_row((uuid.uuid4(), sub_id, action, "pending", status, "bench", when))
        conn.execute("ANALYZE users")
        conn.execute("ANALYZE subscriptions")
        conn.execute("ANALYZE subscription_history")
        conn.commit()


async def queue_figures(base_url: str, iterations: int = 200) -> list[Step]:
    targets: dict[str, tuple[str, dict[str, Any]]] = {
        "page /admin/approvals": ("/admin/approvals", {}),
        "page: 3 statuses": ("/admin/approvals", {"status": ["pending", "active", "denied"]}),
        "API: pending": ("/api/v1/admin/subscriptions", {"status": "pending"}),
        "API: 2 statuses+model": (
            "/api/v1/admin/subscriptions",
            {"status": ["pending", "denied"], "model": RESTRICTED},
        ),
        "API: all, page 100": ("/api/v1/admin/subscriptions", {"offset": 4950}),
        "API: counters": ("/api/v1/admin/subscriptions/counters", {}),
        "nav badge": ("/admin/approvals/badge", {}),
    }
    results = []
    async with _client(base_url) as admin:
        await login(admin, f"queue-admin-{uuid.uuid4().hex[:6]}", "admin")
        for name, (path, params) in targets.items():
            step = Step(name)
            for _ in range(5):
                await admin.get(path, params=params)
            for _ in range(iterations):
                await _timed(step, lambda p=path, q=params: admin.get(p, params=q), 200)
            results.append(step)
        page = await admin.get("/admin/approvals")
        assert page.text.count('data-testid="approval-row"') == 50
    return results


async def bulk_figures(base_url: str, proxy_url: str, master_key: str, litemaas_db: str) -> dict[str, Any]:
    """1,000 pending requests (200 users × 5 models), each user holding one key on the 5 models."""
    run = uuid.uuid4().hex[:6]
    async with _client(base_url) as setup:
        await login(setup, f"bulk-admin-{run}", "admin")
        listed = (await setup.get("/api/v1/models")).json()
        models = sorted(m["name"] for m in listed if not m.get("restricted"))[:BULK_MODELS]
    assert len(models) == BULK_MODELS, models
    semaphore = asyncio.Semaphore(20)
    key_hashes: list[str] = []

    async def one_user(i: int) -> None:
        async with semaphore, _client(base_url) as user:
            await login(user, f"bulk-{run}-{i}")
            for model in models:
                (await user.post("/api/v1/subscriptions", json={"model": model})).raise_for_status()
            created = await user.post("/api/v1/keys", json={"alias": "bulk", "models": models})
            created.raise_for_status()
            key_hashes.append(hashlib.sha256(created.json()["key"].encode()).hexdigest())

    await asyncio.gather(*(one_user(i) for i in range(BULK_USERS)))
    # The five models become requests awaiting approval (as a restriction cascade would leave them).
    with psycopg.connect(database_url(litemaas_db)) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "UPDATE subscriptions s SET status = 'pending' FROM users u"
                " WHERE u.id = s.user_id AND u.username LIKE %s RETURNING s.id",
                (f"bulk-{run}-%",),
            ).fetchall()
        ]
        conn.commit()
    assert len(ids) == BULK_USERS * BULK_MODELS, len(ids)
    async with _client(base_url) as admin:
        await login(admin, f"bulk-approver-{run}", "admin")
        started = time.perf_counter()
        response = await admin.post(
            "/api/v1/admin/subscriptions/bulk",
            json={"action": "approve", "ids": [str(i) for i in ids], "reason": "bench"},
        )
        seconds = time.perf_counter() - started
    response.raise_for_status()
    body = response.json()
    assert body["succeeded"] == len(ids), body["failed"]
    async with httpx.AsyncClient(base_url=proxy_url, headers={"Authorization": f"Bearer {master_key}"}) as proxy:
        info = (await proxy.get("/key/info", params={"key": key_hashes[0]})).json()
        assert sorted(info["info"]["models"]) == sorted(models), info["info"]["models"]
    return {"requests": len(ids), "seconds": seconds, "keys_updated": body["keys_updated"], "users": BULK_USERS}


def run(users: int = 10_000) -> None:
    with stack() as s:
        asyncio.run(sync_catalog(s.backend_url))
        seed_queue(s.litemaas_db, users)
        print(f"\n== admin: approval queue ({users:,} users / {users:,} subscriptions)")
        for step in asyncio.run(queue_figures(s.backend_url)):
            print(step.line())
        bulk = asyncio.run(bulk_figures(s.backend_url, s.proxy_url, s.master_key, s.litemaas_db))
        print(
            f"\n== admin: bulk approve of {bulk['requests']:,} requests ({bulk['users']} users x {BULK_MODELS} models)\n"
            f"  {bulk['seconds']:.2f} s, LiteLLM key updates: {bulk['keys_updated']} "
            f"(one per key; one per request would be {bulk['requests']:,})"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args(argv)
    run(args.users)


if __name__ == "__main__":
    main()
