"""Who sees what: a user only their own usage, by any filter; admin_readonly reads all, changes nothing."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request

from litemaas.db import get_read_only_session, get_sessionmaker
from tests.support.stack import CHAT, EMBED, api, token_hash
from tests.usage.support import daily_row, random_hash, seed_litellm_daily, unused_day

pytestmark = pytest.mark.asyncio


async def _two_users_and_a_foreign_key(login: Any, litellm_stack: Any) -> dict[str, Any]:
    """Alice and Bob with a key each, and a key LiteMaaS did not issue, all used on one past day."""
    alice, bob = api(await login()), api(await login())
    for user in (alice, bob):
        await user.subscribe(CHAT)
    alice_key = await alice.create_key([CHAT])
    bob_key = await bob.create_key([CHAT])
    alice_id = (await alice.me())["user_id"]
    foreign = random_hash()
    day = unused_day()
    seed_litellm_daily(
        litellm_stack.litellm_database_url,
        [
            daily_row(token_hash(alice_key["key"]), day, user_id=alice_id, requests=5, spend=0.5),
            daily_row(token_hash(alice_key["key"]), day, user_id=alice_id, model=EMBED, endpoint="/embeddings"),
            daily_row(token_hash(bob_key["key"]), day, user_id=(await bob.me())["user_id"], requests=7, spend=0.7),
            daily_row(foreign, day, user_id=alice_id, requests=11, spend=1.1),
        ],
    )
    return {"alice": alice, "bob": bob, "alice_key": alice_key, "bob_key": bob_key, "foreign": foreign, "day": day}


async def test_a_user_sees_only_their_own_usage_whatever_the_filters(login: Any, litellm_stack: Any) -> None:
    world = await _two_users_and_a_foreign_key(login, litellm_stack)
    bob, day = world["bob"], world["day"].isoformat()
    base = {"start_date": day, "end_date": day}

    own = (await bob.call("POST", "/usage/analytics", 200, json=base)).json()
    assert own["totals"]["requests"] == 7
    assert [k["key"] for k in own["by_key"]["items"]] == [world["bob_key"]["id"]]

    choices: dict[str, list[Any]] = {
        "models": [[], [CHAT], [EMBED], [CHAT, EMBED]],
        "providers": [[], ["hosted_vllm"]],
        "keys": [[], [world["bob_key"]["id"]]],
    }
    for models, providers, keys in itertools.product(*choices.values()):
        body = {**base, "models": models, "providers": providers, "keys": keys}
        seen = (await bob.call("POST", "/usage/analytics", 200, json=body)).json()
        assert {k["key"] for k in seen["by_key"]["items"]} <= {world["bob_key"]["id"]}, body
        assert seen["totals"]["requests"] in (0, 7), body
        assert all(u["user_id"] == seen["by_user"]["items"][0]["user_id"] for u in seen["by_user"]["items"])

    for keys in ([world["alice_key"]["id"]], [world["bob_key"]["id"], world["alice_key"]["id"]]):
        refused = await bob.call("POST", "/usage/analytics", 403, json={**base, "keys": keys})
        assert refused.json()["field"] == "keys"
        await bob.call("GET", "/usage/export", 403, params={**base, "key": keys})
    external = "external:" + world["foreign"][:16]
    await bob.call("POST", "/usage/analytics", 403, json={**base, "keys": [external]})
    alice_id = (await world["alice"].me())["user_id"]
    assert (await bob.call("POST", "/usage/analytics", json={**base, "users": [alice_id]})).status_code == 422
    assert (await bob.call("POST", "/admin/usage/analytics", json={**base, "users": [alice_id]})).status_code == 403
    assert (await bob.call("GET", "/admin/usage/export", params=base)).status_code == 403

    exported = await bob.call("GET", "/usage/export", 200, params={**base, "view": "keys", "format": "json"})
    assert [row["key"] for row in exported.json()] == [world["bob_key"]["id"]]
    options = (await bob.call("GET", "/usage/filters", 200, params=base)).json()
    assert [k["key"] for k in options["keys"]] == [world["bob_key"]["id"]]
    assert [u["user_id"] for u in options["users"]] == [(await bob.me())["user_id"]]


async def test_admin_readonly_reads_everything_and_changes_nothing(login: Any, litellm_stack: Any) -> None:
    world = await _two_users_and_a_foreign_key(login, litellm_stack)
    reader = api(await login(role="admin_readonly"))
    day = world["day"].isoformat()
    base = {"start_date": day, "end_date": day}

    seen = (await reader.call("POST", "/admin/usage/analytics", 200, json={**base, "limit": 500})).json()
    keys = {k["key"] for k in seen["by_key"]["items"]}
    assert {world["alice_key"]["id"], world["bob_key"]["id"], "external:" + world["foreign"][:16]} <= keys
    await reader.call("GET", "/admin/usage/export", 200, params=base)
    await reader.call("GET", "/admin/usage/filters", 200, params=base)
    await reader.call("GET", "/admin/usage/status", 200)
    for path, body in (("/admin/usage/refresh", None), ("/admin/usage/rebuild", base)):
        refused = await reader.call("POST", path, 403, json=body)
        assert refused.json()["error"] == "forbidden"


async def test_the_analytics_transaction_cannot_write(app: FastAPI) -> None:
    """What lets a read-only admin call ``POST /admin/usage/analytics``: PostgreSQL refuses its writes."""
    sessions = get_read_only_session(get_sessionmaker(Request({"type": "http", "app": app})))
    session = await anext(sessions)
    with pytest.raises(DBAPIError, match="read-only transaction"):
        await session.execute(
            text("INSERT INTO usage_days (day, fetched_at, changed_at) VALUES ('2001-01-01', now(), now())")
        )
    await sessions.aclose()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_date": "2026-13-01"}, "start_date"),
        ({"start_date": "2026-1-1"}, "start_date"),
        ({"end_date": "yesterday"}, "end_date"),
        ({"start_date": "1999-12-31"}, "start_date"),
        ({"start_date": "2026-02-01", "end_date": "2026-01-31"}, "end_date"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "end_date"),
        ({"users": ["not-an-id"]}, "users"),
        ({"users": ["00000000-0000-0000-0000-000000000000"]}, "users"),
        ({"keys": ["00000000-0000-0000-0000-000000000000"]}, "keys"),
        ({"keys": ["external:nothex"]}, "keys"),
        ({"keys": ["external:0123456789abcdef"]}, "keys"),
        ({"models": ["no-such-model-anywhere"]}, "models"),
        ({"providers": ["no-such-provider"]}, "providers"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(login: Any, change: dict[str, Any], field: str) -> None:
    admin = api(await login(role="admin"))
    body = {"start_date": "2026-01-01", "end_date": "2026-01-31", **change}
    refused = await admin.call("POST", "/admin/usage/analytics", 400, json=body)
    assert refused.json()["field"] == field and field in refused.json()["detail"]
    params = {k if k in ("start_date", "end_date") else k.rstrip("s"): v for k, v in body.items()}
    exported = await admin.call("GET", "/admin/usage/export", 400, params=params)
    assert exported.json()["field"] == field
    if "users" not in change:
        user = api(await login())
        own = await user.call("POST", "/usage/analytics", json={k: v for k, v in body.items() if k != "users"})
        assert own.status_code in (400, 403) and own.json()["field"] == field


async def test_the_range_limit_is_366_days(login: Any) -> None:
    admin = api(await login(role="admin"))
    start = date(2040, 1, 1)  # in the future: nothing to fetch
    body = {"start_date": start.isoformat(), "end_date": (start + timedelta(days=365)).isoformat()}
    await admin.call("POST", "/admin/usage/analytics", 200, json=body)
    body["end_date"] = (start + timedelta(days=366)).isoformat()
    assert (await admin.call("POST", "/admin/usage/analytics", 400, json=body)).json()["field"] == "end_date"
    await admin.call("POST", "/admin/usage/rebuild", 400, json=body)
