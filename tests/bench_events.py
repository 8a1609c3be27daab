"""Workshop event figures for ``make bench`` (functions, not tests): real backend, proxy and simulator.

    python -m tests.bench_events                          # 300 attendees, concurrency 50
    python -m tests.bench_events --attendees 40 --concurrency 10
    python -m tests.bench --only events                   # through the shared bench entry point

An admin creates an event (two models, capacity = attendees); each attendee logs in (development
login) and joins by the event's code (seat, subscriptions, key). Printed: total seconds, p50/p99
per step, errors, and the LiteLLM objects made per attendee (users + keys, read from LiteLLM's
database: what the joins cost LiteLLM). Asserted (correctness only): one seat and one LiteLLM key
per attendee, the seat counter equals the seats.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from tests.bench_backend import MODELS, Step, _client, login, stack, sync_catalog
from tests.support.stack import database_url


async def _create_event(base_url: str, capacity: int) -> dict[str, Any]:
    async with _client(base_url) as admin:
        await login(admin, f"bench-admin-{uuid.uuid4().hex[:6]}", "admin")
        now = datetime.now(UTC)
        response = await admin.post(
            "/api/v1/admin/events",
            json={
                "name": "bench workshop",
                "models": list(MODELS),
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(hours=2)).isoformat(),
                "capacity": capacity,
                "rpm_limit": 60,
            },
        )
        response.raise_for_status()
        event: dict[str, Any] = response.json()
        return event


async def join_burst(base_url: str, code: str, attendees: int, concurrency: int) -> dict[str, Any]:
    steps = {name: Step(name) for name in ("login", "join (seat + key)", "attendee_total")}
    semaphore = asyncio.Semaphore(concurrency)
    run = uuid.uuid4().hex[:6]
    keys: list[str] = []

    async def attendee(i: int) -> None:
        async with semaphore, _client(base_url) as client:
            started = time.perf_counter()
            try:
                await login(client, f"evt-{run}-{i}")
            except (RuntimeError, httpx.HTTPError) as exc:
                steps["login"].errors.append(str(exc)[:120])
                return
            steps["login"].latencies_ms.append((time.perf_counter() - started) * 1000)
            t0 = time.perf_counter()
            try:
                response = await client.post(f"/api/v1/events/join/{code}")
            except httpx.HTTPError as exc:
                steps["join (seat + key)"].errors.append(type(exc).__name__)
                return
            if response.status_code != 200:
                steps["join (seat + key)"].errors.append(f"{response.status_code} {response.text[:120]}")
                return
            steps["join (seat + key)"].latencies_ms.append((time.perf_counter() - t0) * 1000)
            keys.append(response.json()["seat"]["key"])
            steps["attendee_total"].latencies_ms.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(attendee(i) for i in range(attendees)))
    return {"steps": steps, "seconds": time.perf_counter() - started, "keys": keys}


def _litellm_counts(litellm_url: str, event_id: str) -> tuple[int, int]:
    with psycopg.connect(litellm_url) as conn:
        keys = conn.execute(
            """SELECT count(*) FROM "LiteLLM_VerificationToken" WHERE metadata->>'litemaas_event_id' = %s""",
            (event_id,),
        ).fetchone()
        users = conn.execute("""SELECT count(*) FROM "LiteLLM_UserTable" """).fetchone()
    return int(keys[0] if keys else 0), int(users[0] if users else 0)


def run(attendees: int = 300, concurrency: int = 50) -> None:
    with stack() as s:
        asyncio.run(sync_catalog(s.backend_url))
        event = asyncio.run(_create_event(s.backend_url, attendees))
        litellm_url = database_url(s.litellm_db)
        print(f"\n== events: {attendees} attendees join one event, concurrency {concurrency}")
        burst = asyncio.run(join_burst(s.backend_url, event["join_code"], attendees, concurrency))
        errors = sum(len(step.errors) for step in burst["steps"].values())
        print(f"  total {burst['seconds']:.1f} s, {len(burst['keys'])} seats, errors {errors}")
        for step in burst["steps"].values():
            print(step.line())
        for err in sorted({e for st in burst["steps"].values() for e in st.errors})[:5]:
            print(f"  error sample: {err}")
        with psycopg.connect(database_url(s.litemaas_db)) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM event_seats WHERE event_id = %s), seats_taken FROM events WHERE id = %s",
                (event["id"], event["id"]),
            ).fetchone()
        assert row is not None and row[0] == row[1] == len(burst["keys"]), (row, len(burst["keys"]))
        keys, users = _litellm_counts(litellm_url, event["id"])
        assert keys == len(burst["keys"]), (keys, len(burst["keys"]))
        per = (keys + users) / max(1, len(burst["keys"]))
        print(f"  LiteLLM objects per attendee: {per:.2f} (keys {keys}, users {users})")
        print("  LiteLLM calls per join (by design): /user/new at first login, /key/generate at the join")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attendees", type=int, default=int(os.environ.get("BENCH_EVENT_ATTENDEES", "300")))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_EVENT_CONCURRENCY", "50")))
    args, _ = parser.parse_known_args(argv)
    run(args.attendees, args.concurrency)


if __name__ == "__main__":
    main()
