"""Events through the REST API against the real proxy: create, join, seats, capacity, end, hosts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest

from tests.support.backend import unique
from tests.support.stack import CHAT, GUARD, api, chat, db_rows, sdk

pytestmark = pytest.mark.asyncio


def _window(hours: float = 2) -> tuple[str, str]:
    now = datetime.now(UTC)
    return (now - timedelta(minutes=5)).isoformat(), (now + timedelta(hours=hours)).isoformat()


async def _event(admin: Any, **fields: Any) -> dict[str, Any]:
    starts, ends = _window()
    body = {
        "name": f"Workshop {uuid.uuid4().hex[:6]}",
        "models": [CHAT, GUARD],
        "starts_at": starts,
        "ends_at": ends,
        "capacity": 10,
        "rpm_limit": 100,
        "tpm_limit": 100000,
        "max_budget": 5,
        **fields,
    }
    data: dict[str, Any] = (await admin.call("POST", "/admin/events", 201, json=body)).json()
    return data


def _litellm_event_keys(litellm_stack: Any, event_id: str) -> int:
    with litellm_stack.db() as conn:
        row = conn.execute(
            """SELECT count(*) FROM "LiteLLM_VerificationToken" WHERE metadata->>'litemaas_event_id' = %s""",
            (event_id,),
        ).fetchone()
    return int(row[0]) if row else 0


async def test_join_grants_restricted_model_and_one_key_idempotently(
    login: Any, litellm_stack: Any, settings: Any
) -> None:
    admin = api(await login(role="admin"))
    event = await _event(admin)
    assert event["status"] == "open" and event["join_code"] and len(event["join_code"]) >= 20
    user = api(await login())
    first = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()
    key = first["seat"]["key"]
    assert first["seat"]["created"] and key.startswith("sk-")
    # The restricted model works without an approval: the event is the approval.
    client = sdk(litellm_stack, key)
    for model in (CHAT, GUARD):
        answer = await chat(client, model=model)
        assert answer.choices[0].message.content
    subs = {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert subs == {CHAT: "active", GUARD: "active"}
    # Joining again: the same seat, no key, no second LiteLLM key.
    again = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()
    assert again["seat"]["id"] == first["seat"]["id"] and again["seat"]["key"] is None and not again["seat"]["created"]
    assert _litellm_event_keys(litellm_stack, event["id"]) == 1
    # The key expires at the event's end, at LiteLLM as here.
    keys = (await user.call("GET", "/keys", 200)).json()["items"]
    mine = [k for k in keys if k["id"] == first["seat"]["key_id"]]
    assert mine and mine[0]["rpm_limit"] == 100 and mine[0]["expires_at"]
    assert abs(datetime.fromisoformat(mine[0]["expires_at"]) - datetime.fromisoformat(event["ends_at"])) < timedelta(
        seconds=5
    )
    # Audited, without key material.
    audit = (await admin.call("GET", "/admin/audit", 200, params={"target_id": event["id"]})).json()["items"]
    assert {"event.create", "event.seat.create"} <= {a["action"] for a in audit}
    assert key not in str(audit)
    history = db_rows(
        settings.database_url,
        "SELECT h.action FROM subscription_history h JOIN subscriptions s ON s.id = h.subscription_id "
        "JOIN users u ON u.id = s.user_id JOIN catalog_models m ON m.id = s.model_id "
        "WHERE u.username = %s AND m.name = %s",
        (await user.me())["username"],
        GUARD,
    )
    assert history == [("event_grant",)]

    # Ending early: the key stops working at the proxy, the event's grants end.
    ended = (await admin.call("POST", f"/admin/events/{event['id']}/end", 200)).json()
    assert ended["status"] == "ended"
    with pytest.raises(openai.AuthenticationError):
        await chat(client, model=CHAT)
    subs = {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert subs == {CHAT: "cancelled", GUARD: "cancelled"}
    assert _litellm_event_keys(litellm_stack, event["id"]) == 0
    refused = await user.call("POST", f"/events/join/{event['join_code']}", 200)
    assert refused.json()["seat"]["status"] == "ended"
    late = api(await login())
    assert (await late.call("POST", f"/events/join/{event['join_code']}", 409)).json()["error"] == "event_ended"


async def test_own_subscription_survives_the_event(login: Any) -> None:
    admin = api(await login(role="admin"))
    event = await _event(admin)
    user = api(await login())
    await user.subscribe(CHAT)
    await user.call("POST", f"/events/join/{event['join_code']}", 200)
    await admin.call("POST", f"/admin/events/{event['id']}/end", 200)
    subs = {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert subs == {CHAT: "active", GUARD: "cancelled"}


async def test_capacity_holds_under_concurrent_joins(login: Any, litellm_stack: Any, settings: Any) -> None:
    admin = api(await login(role="admin"))
    event = await _event(admin, capacity=50, models=[CHAT])
    semaphore = asyncio.Semaphore(10)

    async def attendee() -> Any:
        async with semaphore:
            return api(await login())

    attendees = await asyncio.gather(*(attendee() for _ in range(80)))
    results = await asyncio.gather(
        *(a.call("POST", f"/events/join/{event['join_code']}") for a in attendees), return_exceptions=True
    )
    statuses = [r.status_code for r in results if not isinstance(r, BaseException)]
    assert len(statuses) == 80, [r for r in results if isinstance(r, BaseException)]
    assert statuses.count(200) == 50 and statuses.count(409) == 30, statuses
    full = [r.json() for r in results if not isinstance(r, BaseException) and r.status_code == 409]
    assert {f["error"] for f in full} == {"event_full"}
    assert _litellm_event_keys(litellm_stack, event["id"]) == 50
    rows = db_rows(
        settings.database_url,
        "SELECT count(*), max(e.seats_taken) FROM event_seats s JOIN events e ON e.id = s.event_id WHERE s.event_id = %s",
        event["id"],
    )
    assert rows == [(50, 50)]
    keys = db_rows(
        settings.database_url,
        "SELECT count(*) FROM api_keys k JOIN event_seats s ON s.key_id = k.id WHERE s.event_id = %s",
        event["id"],
    )
    assert keys == [(50,)]


async def test_bad_input_is_422_naming_the_field(login: Any) -> None:
    admin = api(await login(role="admin"))
    starts, ends = _window()
    base = {"name": "x", "models": [CHAT], "starts_at": starts, "ends_at": ends, "capacity": 5}
    cases = {
        "ends_at": {**base, "ends_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
        "capacity": {**base, "capacity": 0},
        "models": {**base, "models": ["no-such-model"]},
        "rpm_limit": {**base, "rpm_limit": -1},
        "max_budget": {**base, "max_budget": -5},
        "hosts": {**base, "hosts": ["nobody-" + uuid.uuid4().hex]},
    }
    for field, body in cases.items():
        response = await admin.call("POST", "/admin/events", 422, json=body)
        assert response.json()["field"] == field, (field, response.text)
    event = await _event(admin)
    response = await admin.call("PATCH", f"/admin/events/{event['id']}", 422, json={"ends_at": starts})
    assert response.json()["field"] == "ends_at"


async def test_rotated_and_revoked_codes_stop_joining(login: Any) -> None:
    admin = api(await login(role="admin"))
    event = await _event(admin)
    old = event["join_code"]
    rotated = (await admin.call("POST", f"/admin/events/{event['id']}/code/rotate", 200)).json()
    assert rotated["join_code"] != old
    user = api(await login())
    assert (await user.call("POST", f"/events/join/{old}", 404)).json()["error"] == "join_code_invalid"
    await admin.call("POST", f"/admin/events/{event['id']}/code/revoke", 200)
    code = rotated["join_code"]
    assert (await user.call("POST", f"/events/join/{code}", 404)).json()["error"] == "join_code_invalid"
    qr = await admin.call("GET", f"/admin/events/{event['id']}/qr", 404)
    assert qr.status_code == 404


async def test_not_started_event_refuses_and_extension_moves_key_expiry(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    later = datetime.now(UTC) + timedelta(hours=1)
    event = await _event(admin, starts_at=later.isoformat(), ends_at=(later + timedelta(hours=1)).isoformat())
    user = api(await login())
    assert (await user.call("POST", f"/events/join/{event['join_code']}", 409)).json()["error"] == "event_not_started"
    await admin.call("PATCH", f"/admin/events/{event['id']}", 200, json={"starts_at": _window()[0]})
    seat = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()["seat"]
    new_end = later + timedelta(hours=5)
    extended = (
        await admin.call("PATCH", f"/admin/events/{event['id']}", 200, json={"ends_at": new_end.isoformat()})
    ).json()
    assert datetime.fromisoformat(extended["ends_at"]) == new_end
    info = litellm_stack.admin.get("/key/info", params={"key": seat["key"]}).json()["info"]
    expires = datetime.fromisoformat(info["expires"].replace("Z", "+00:00"))
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    assert abs(expires - new_end) < timedelta(seconds=10)
    qr = await admin.call("GET", f"/admin/events/{event['id']}/qr", 200)
    assert qr.headers["content-type"].startswith("image/svg+xml") and "<svg" in qr.text


async def test_host_manages_own_event_only(login: Any) -> None:
    admin = api(await login(role="admin"))
    host_name = unique("host")
    host = api(await login(username=host_name))
    event_a = await _event(admin, hosts=[host_name])
    event_b = await _event(admin)
    attendee = api(await login())
    seat = (await attendee.call("POST", f"/events/join/{event_a['join_code']}", 200)).json()["seat"]
    other = api(await login())
    seat_b = (await other.call("POST", f"/events/join/{event_b['join_code']}", 200)).json()["seat"]

    view = (await host.call("GET", f"/events/{event_a['id']}/host", 200)).json()
    assert [a["username"] for a in view["attendees"]] == [seat["username"]]
    # Event B does not exist for A's host, whatever they try.
    await host.call("GET", f"/events/{event_b['id']}/host", 404)
    await host.call("GET", f"/events/{event_b['id']}/host/export.csv", 404)
    await host.call("POST", f"/events/{event_b['id']}/seats/{seat_b['id']}/revoke", 404)
    await host.call("PATCH", f"/events/{event_b['id']}/seats/{seat_b['id']}/limits", 404, json={"rpm_limit": 500})
    # A seat of B through A's path is not found either.
    await host.call("POST", f"/events/{event_a['id']}/seats/{seat_b['id']}/revoke", 404)
    # Admin routes, users, models and settings stay closed.
    for method, path in (
        ("GET", "/admin/events"),
        ("GET", f"/admin/events/{event_a['id']}"),
        ("PATCH", f"/admin/events/{event_a['id']}"),
        ("POST", f"/admin/events/{event_a['id']}/end"),
        ("POST", f"/admin/events/{event_a['id']}/seats"),
        ("GET", "/admin/users"),
        ("POST", "/admin/models"),
        ("PUT", "/admin/settings/api-keys"),
    ):
        await host.call(method, path, 403, json={})

    # The host raises one attendee's limits, exports, and revokes the seat.
    raised = (
        await host.call("PATCH", f"/events/{event_a['id']}/seats/{seat['id']}/limits", 200, json={"rpm_limit": 500})
    ).json()
    assert raised["rpm_limit"] == 500 and raised["tpm_limit"] == 100000
    # ... within bounds: a host is an ordinary user, not an admin.
    limits = f"/events/{event_a['id']}/seats/{seat['id']}/limits"
    for body, field in (
        ({"rpm_limit": None}, "rpm_limit"),  # unlimited
        ({"max_budget": None}, "max_budget"),
        ({"rpm_limit": 1001}, "rpm_limit"),  # > 10 x the event's 100
        ({"max_budget": 50.01}, "max_budget"),
    ):
        refused = (await host.call("PATCH", limits, 403, json=body)).json()
        assert refused["error"] == "host_limit_refused" and field in refused["detail"], refused
    host_seat = (await host.call("POST", f"/events/join/{event_a['join_code']}", 200)).json()["seat"]
    own = await host.call(
        "PATCH", f"/events/{event_a['id']}/seats/{host_seat['id']}/limits", 403, json={"rpm_limit": 200}
    )
    assert own.json()["error"] == "host_limit_refused"
    assert (await admin.call("PATCH", limits, 200, json={"max_budget": None})).json()["max_budget"] is None
    csv_text = (await host.call("GET", f"/events/{event_a['id']}/host/export.csv", 200)).text
    assert csv_text.splitlines()[0].startswith("username,status") and seat["username"] in csv_text
    revoked = (await host.call("POST", f"/events/{event_a['id']}/seats/{seat['id']}/revoke", 200)).json()
    assert revoked["status"] == "revoked"
    assert (await attendee.call("POST", f"/events/join/{event_a['join_code']}", 409)).json()["error"] == "seat_revoked"
    # A read-only admin looks, never changes.
    reader = api(await login(role="admin_readonly"))
    await reader.call("GET", f"/events/{event_a['id']}/host", 200)
    await reader.call("GET", f"/admin/events/{event_a['id']}", 200)
    await reader.call("POST", f"/events/{event_a['id']}/seats/{seat['id']}/revoke", 404)
    await reader.call("POST", f"/admin/events/{event_a['id']}/end", 403)


async def test_seats_api_by_count_and_usernames(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    event = await _event(admin, capacity=4, models=[CHAT])
    made = (await admin.call("POST", f"/admin/events/{event['id']}/seats", 201, json={"count": 2})).json()["items"]
    assert len(made) == 2 and all(s["created"] and s["key"].startswith("sk-") for s in made)
    answer = await chat(sdk(litellm_stack, made[0]["key"]))
    assert answer.choices[0].message.content
    name = unique("lab")
    await login(username=name)
    named = (await admin.call("POST", f"/admin/events/{event['id']}/seats", 201, json={"usernames": [name]})).json()
    assert named["items"][0]["username"] == name and named["items"][0]["created"]
    again = (await admin.call("POST", f"/admin/events/{event['id']}/seats", 201, json={"usernames": [name]})).json()
    assert again["items"][0]["key"] is None and not again["items"][0]["created"]
    full = await admin.call("POST", f"/admin/events/{event['id']}/seats", 409, json={"count": 2})
    assert full.json()["error"] == "event_full"
    await admin.call("POST", f"/admin/events/{event['id']}/seats", 422, json={"count": 1, "usernames": [name]})
    assert _litellm_event_keys(litellm_stack, event["id"]) == 3


def _event_seats(settings: Any, event_id: str) -> list[tuple[Any, ...]]:
    return db_rows(
        settings.database_url,
        "SELECT s.status, e.seats_taken FROM events e LEFT JOIN event_seats s ON s.event_id = e.id WHERE e.id = %s",
        uuid.UUID(event_id),
    )


async def test_join_with_litellm_down_is_503_and_leaves_no_seat(
    login: Any, litellm_stack: Any, settings: Any, transport: Any
) -> None:
    """LiteLLM unreachable during a join: 503, no seat, no grant, no key on either side; the same
    attendee joins normally once it is back (one key)."""
    admin = api(await login(role="admin"))
    event = await _event(admin, capacity=3)
    user = api(await login())
    transport.cut()
    refused = await user.call("POST", f"/events/join/{event['join_code']}", 503)
    assert refused.json()["error"]
    transport.restore()
    assert _event_seats(settings, event["id"]) == [(None, 0)]
    assert _litellm_event_keys(litellm_stack, event["id"]) == 0
    subs = {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert subs.get(GUARD) != "active"
    joined = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()
    assert joined["seat"]["created"] and joined["seat"]["key"].startswith("sk-")
    assert _event_seats(settings, event["id"]) == [("active", 1)]
    assert _litellm_event_keys(litellm_stack, event["id"]) == 1


async def test_join_whose_key_answer_is_lost_leaves_no_orphan_key(
    login: Any, litellm_stack: Any, settings: Any, transport: Any
) -> None:
    """LiteLLM creates the key but its answer never arrives: the join fails with 503 and the key it
    made is removed (or never counted): afterwards one join gives exactly one working key."""
    admin = api(await login(role="admin"))
    event = await _event(admin, capacity=3)
    user = api(await login())
    transport.lose_response_of("/key/generate")
    await user.call("POST", f"/events/join/{event['join_code']}", 503)
    transport.restore()
    assert _event_seats(settings, event["id"]) == [(None, 0)]
    assert _litellm_event_keys(litellm_stack, event["id"]) == 0
    joined = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()
    answer = await chat(sdk(litellm_stack, joined["seat"]["key"]), model=CHAT)
    assert answer.choices[0].message.content
    assert _litellm_event_keys(litellm_stack, event["id"]) == 1


async def test_an_attendee_cannot_change_the_terms_of_their_event_key(login: Any, litellm_stack: Any) -> None:
    """The key's models, limits and expiry are the event's: the owner may use, rotate or revoke it,
    never raise its limits or move its expiry (that would make the host's bounds pointless)."""
    admin = api(await login(role="admin"))
    event = await _event(admin, models=[CHAT])
    user = api(await login())
    seat = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()["seat"]
    key_id = seat["key_id"]
    for body in (
        {"rpm_limit": 100000},
        {"max_budget": None},
        {"duration": "365d"},
        {"models": [CHAT]},
        {"alias": "mine"},
    ):
        refused = (await user.call("PATCH", f"/keys/{key_id}", 403, json=body)).json()
        assert refused["error"] == "key_terms_fixed", refused
    # An event key does not count against the owner's own key cap.
    assert (await user.call("GET", "/keys", 200)).json()["items"][0]["alias"].startswith("_event-")
    rotated = (await user.call("POST", f"/keys/{key_id}/rotate", 200)).json()
    assert rotated["rpm_limit"] == 100 and rotated["expires_at"] is not None
    assert abs(datetime.fromisoformat(rotated["expires_at"]) - datetime.fromisoformat(event["ends_at"])) < timedelta(
        seconds=5
    )
    assert (await chat(sdk(litellm_stack, rotated["key"]), model=CHAT)).choices[0].message.content
    # A user cannot take an event's key name for a key of their own either.
    await user.call(
        "POST", "/keys", 400, json={"alias": f"_event-{event['id'].replace('-', '')[:12]}", "models": [CHAT]}
    )


async def test_a_model_two_live_events_grant_stays_until_the_last_ends(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    first = await _event(admin, models=[CHAT, GUARD])
    second = await _event(admin, models=[GUARD])
    user = api(await login())
    await user.call("POST", f"/events/join/{first['join_code']}", 200)
    seat_b = (await user.call("POST", f"/events/join/{second['join_code']}", 200)).json()["seat"]
    client_b = sdk(litellm_stack, seat_b["key"])

    await admin.call("POST", f"/admin/events/{first['id']}/end", 200)
    subs = {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert subs == {CHAT: "cancelled", GUARD: "active"}  # the second event still grants the guard model
    assert (await chat(client_b, model=GUARD)).choices[0].message.content

    await admin.call("POST", f"/admin/events/{second['id']}/end", 200)
    subs = {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert subs == {CHAT: "cancelled", GUARD: "cancelled"}  # ... and ends with it


async def test_attendees_do_not_see_the_join_code_or_the_hosts(login: Any) -> None:
    admin = api(await login(role="admin"))
    host = unique("host")
    await login(username=host)
    event = await _event(admin, hosts=[host])
    user = api(await login())
    joined = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()
    assert joined["event"]["join_code"] is None and joined["event"]["hosts"] == []
    rotated = (await admin.call("POST", f"/admin/events/{event['id']}/code/rotate", 200)).json()
    mine = (await user.call("GET", "/events", 200)).json()["joined"]
    assert [e["event"]["join_code"] for e in mine] == [None]
    assert rotated["join_code"] not in str(mine) and host not in str(mine)


async def test_the_cleanup_job_closes_an_event_that_reached_its_end(login: Any, litellm_stack: Any) -> None:
    """Nobody pressed "End": at its end the key stops at LiteLLM, and the (hourly) cleanup job then
    ends the seats and the grants, so no new key can carry the event's restricted model."""
    admin = api(await login(role="admin"))
    starts, _ = _window()
    ends = datetime.now(UTC) + timedelta(seconds=8)
    event = await _event(admin, models=[GUARD], starts_at=starts, ends_at=ends.isoformat())
    user = api(await login())
    seat = (await user.call("POST", f"/events/join/{event['join_code']}", 200)).json()["seat"]
    assert (await chat(sdk(litellm_stack, seat["key"]), model=GUARD)).choices[0].message.content
    await asyncio.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 1.5)
    with pytest.raises(openai.AuthenticationError):  # expired at LiteLLM
        await chat(sdk(litellm_stack, seat["key"]), model=GUARD)
    report = (await admin.call("POST", "/admin/jobs/cleanup-keys", 200)).json()
    assert not [e for e in report["errors"] if event["id"] in e], report["errors"]
    assert (await admin.call("GET", f"/admin/events/{event['id']}", 200)).json()["status"] == "ended"
    subs = {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert subs == {GUARD: "cancelled"}
    await user.call("POST", "/keys", 400, json={"alias": "after-the-event", "models": [GUARD]})


async def test_renaming_in_the_console_keeps_the_times_to_the_second(login: Any) -> None:
    admin = api(await login(role="admin"))
    ends = (datetime.now(UTC) + timedelta(hours=3)).replace(second=42, microsecond=0)
    event = await _event(admin, ends_at=ends.isoformat())
    shown = {
        name: datetime.fromisoformat(event[name]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
        for name in ("starts_at", "ends_at")
    }
    form = {"name": "Renamed " + event["name"], "description": "", "capacity": "10", **shown}
    form |= {"rpm_limit": "100", "tpm_limit": "100000", "max_budget": "5"}
    saved = await admin.client.post(f"/admin/events/{event['id']}", data=form)
    assert saved.status_code == 303, saved.text[:300]
    after = (await admin.call("GET", f"/admin/events/{event['id']}", 200)).json()
    assert after["name"].startswith("Renamed ") and after["ends_at"] == event["ends_at"]
    audit = (await admin.call("GET", "/admin/audit", 200, params={"target_id": event["id"]})).json()["items"]
    assert "event.extend" not in {a["action"] for a in audit}
