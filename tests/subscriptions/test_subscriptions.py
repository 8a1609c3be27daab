"""Subscription state machine, approvals and "keys follow subscriptions", against the real proxy."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest

from tests.support.stack import CHAT, CHAT_2, CHAT_3, CODE, GUARD, api, chat, db_rows, new_model, sdk, token_hash

pytestmark = pytest.mark.asyncio


async def _statuses(user: Any) -> dict[str, str]:
    return {s["model"]["name"]: s["status"] for s in (await user.call("GET", "/subscriptions", 200)).json()}


async def test_subscribe_open_model_is_active_with_history_and_audit(login: Any) -> None:
    user = api(await login())
    sub = await user.subscribe(CHAT)
    assert sub["status"] == "active" and sub["model"]["name"] == CHAT
    history = (await user.call("GET", f"/subscriptions/{sub['id']}/history", 200)).json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [("subscribe", None, "active")]
    admin = api(await login(role="admin"))
    events = (
        await admin.call("GET", "/admin/audit", 200, params={"target_id": sub["id"], "action": "subscription."})
    ).json()["items"]
    assert [(e["action"], e["before"]["status"], e["after"]["status"]) for e in events] == [
        ("subscription.subscribe", None, "active")
    ]


async def test_restricted_model_waits_and_user_cannot_self_activate(login: Any) -> None:
    user = api(await login())
    sub = await user.subscribe(GUARD)
    assert sub["status"] == "pending"
    sid = sub["id"]
    # Every way a user might try to set the status is refused.
    await user.call("POST", "/subscriptions", 422, json={"model": GUARD, "status": "active"})
    for method in ("PATCH", "PUT"):
        response = await user.call(method, f"/subscriptions/{sid}", None, json={"status": "active"})
        assert response.status_code in (404, 405)
    await user.call("POST", f"/admin/subscriptions/{sid}/approve", 403)
    await user.call("POST", "/admin/subscriptions/bulk", 403, json={"action": "approve", "ids": [sid]})
    await user.call("POST", f"/subscriptions/{sid}/request-review", 409)
    await user.subscribe(GUARD, expect=409)
    await user.call("POST", f"/subscriptions/{sid}/activate", 404)
    assert (await user.call("GET", f"/subscriptions/{sid}", 200)).json()["status"] == "pending"
    # A key cannot carry the model either.
    refused = await user.create_key([GUARD], expect=400)
    assert refused["field"] == "models"


async def test_duplicate_and_concurrent_subscribe_make_one_row(login: Any) -> None:
    user = api(await login())
    results = await asyncio.gather(
        *(user.call("POST", "/subscriptions", None, json={"model": CHAT_2}) for _ in range(6))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409, 409, 409]
    assert {r.json()["error"] for r in results if r.status_code == 409} == {"already_subscribed"}
    assert list((await _statuses(user)).items()) == [(CHAT_2, "active")]


async def test_cancel_and_resubscribe_reuses_the_subscription(login: Any) -> None:
    user = api(await login())
    first = await user.subscribe(CHAT)
    cancelled = (await user.call("POST", f"/subscriptions/{first['id']}/cancel", 200)).json()
    assert cancelled["status"] == "cancelled"
    await user.call("POST", f"/subscriptions/{first['id']}/cancel", 409)
    again = await user.subscribe(CHAT)
    assert again["id"] == first["id"] and again["status"] == "active"
    history = (await user.call("GET", f"/subscriptions/{first['id']}/history", 200)).json()
    assert [h["action"] for h in history] == ["subscribe", "cancel", "subscribe"]


async def test_deny_needs_reason_then_review_and_approve(login: Any) -> None:
    user = api(await login())
    admin = api(await login(role="admin"))
    sid = (await user.subscribe(GUARD))["id"]
    missing = await admin.call("POST", f"/admin/subscriptions/{sid}/deny", 400)
    assert missing.json()["field"] == "reason"
    await admin.call("POST", f"/admin/subscriptions/{sid}/deny", 400, json={"reason": "   "})
    denied = await admin.decide(sid, "deny", "not for workshops")
    assert denied["status"] == "denied" and denied["status_reason"] == "not for workshops"
    assert denied["decided_by_id"] == (await admin.me())["user_id"]

    blocked = await user.subscribe(GUARD, expect=409)
    assert blocked["error"] == "subscription_denied"
    review = (
        await user.call("POST", f"/subscriptions/{sid}/request-review", 200, json={"reason": "I run the safety lab"})
    ).json()
    assert review["status"] == "pending"
    approved = await admin.decide(sid, "approve")
    assert approved["status"] == "active"
    history = (await admin.call("GET", f"/admin/subscriptions/{sid}/history", 200)).json()
    assert [(h["action"], h["to_status"]) for h in history] == [
        ("subscribe", "pending"),
        ("deny", "denied"),
        ("request_review", "pending"),
        ("approve", "active"),
    ]
    assert history[1]["reason"] == "not for workshops" and history[2]["reason"] == "I run the safety lab"


async def test_revert_undoes_an_admin_decision_only(login: Any) -> None:
    user = api(await login())
    admin = api(await login(role="admin"))
    sid = (await user.subscribe(GUARD))["id"]
    await admin.decide(sid, "approve")
    reverted = await admin.decide(sid, "revert", "approved by mistake")
    assert reverted["status"] == "pending"
    await admin.decide(sid, "revert", expect=409)  # pending has nothing to revert
    open_sub = (await user.subscribe(CHAT_3))["id"]
    await admin.decide(open_sub, "revert", expect=409)  # self-service subscribe is not a decision


async def test_bulk_decisions_report_per_item(login: Any) -> None:
    admin = api(await login(role="admin"))
    users = [api(await login()) for _ in range(3)]
    pending = [(await u.subscribe(GUARD))["id"] for u in users]
    active = (await users[0].subscribe(CHAT))["id"]
    unknown = str(uuid.uuid4())
    await admin.call("POST", "/admin/subscriptions/bulk", 400, json={"action": "deny", "ids": pending})
    result = (
        await admin.call(
            "POST", "/admin/subscriptions/bulk", 200, json={"action": "approve", "ids": [*pending, active, unknown]}
        )
    ).json()
    by_id = {r["id"]: r for r in result["results"]}
    assert result["succeeded"] == 3 and result["failed"] == 2
    assert all(by_id[p]["ok"] and by_id[p]["status"] == "active" for p in pending)
    assert by_id[active]["error"] == "invalid_transition"
    assert by_id[unknown]["error"] == "not_found"

    denied = (
        await admin.call(
            "POST", "/admin/subscriptions/bulk", 200, json={"action": "deny", "ids": pending[:2], "reason": "capacity"}
        )
    ).json()
    assert denied["succeeded"] == 2
    assert (await users[0].call("GET", f"/subscriptions/{pending[0]}", 200)).json()["status_reason"] == "capacity"


async def test_admin_queue_filters_and_readonly_cannot_decide(login: Any) -> None:
    admin = api(await login(role="admin"))
    readonly = api(await login(role="admin_readonly"))
    name = f"queue-{uuid.uuid4().hex[:6]}"
    user = api(await login(name))
    sid = (await user.subscribe(GUARD))["id"]
    await user.subscribe(CHAT)

    page = (await readonly.call("GET", "/admin/subscriptions", 200, params={"status": "pending", "user": name})).json()
    assert page["total"] == 1 and page["items"][0]["id"] == sid and page["items"][0]["username"] == name
    by_model = (await readonly.call("GET", "/admin/subscriptions", 200, params={"model": GUARD, "user": name})).json()
    assert [i["id"] for i in by_model["items"]] == [sid]
    user_id = (await user.me())["user_id"]
    by_id = (await readonly.call("GET", "/admin/subscriptions", 200, params={"user": user_id})).json()
    assert by_id["total"] == 2
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = (await readonly.call("GET", "/admin/subscriptions", 200, params={"user": name, "since": future})).json()
    assert later["total"] == 0
    limited = (await readonly.call("GET", "/admin/subscriptions", 200, params={"limit": 1})).json()
    assert len(limited["items"]) == 1 and limited["total"] >= 2

    for action in ("approve", "deny", "revert"):
        await readonly.call("POST", f"/admin/subscriptions/{sid}/{action}", 403, json={"reason": "x"})
    await readonly.call("POST", "/admin/subscriptions/bulk", 403, json={"action": "approve", "ids": [sid]})
    assert (await admin.call("GET", f"/admin/subscriptions/{sid}", 200)).json()["status"] == "pending"


async def test_other_users_subscriptions_are_invisible(login: Any) -> None:
    alice = api(await login())
    bob = api(await login())
    sid = (await alice.subscribe(CHAT))["id"]
    await bob.call("GET", f"/subscriptions/{sid}", 404)
    await bob.call("GET", f"/subscriptions/{sid}/history", 404)
    await bob.call("POST", f"/subscriptions/{sid}/cancel", 404)
    await bob.call("GET", "/admin/subscriptions", 403)
    assert (await alice.call("GET", f"/subscriptions/{sid}", 200)).json()["status"] == "active"


async def test_keys_follow_cancel_deny_and_approval(login: Any, litellm_stack: Any, litellm_admin: Any) -> None:
    user = api(await login())
    admin = api(await login(role="admin"))
    chat_sub = (await user.subscribe(CHAT))["id"]
    await user.subscribe(CHAT_2)
    guard_sub = (await user.subscribe(GUARD))["id"]
    await admin.decide(guard_sub, "approve")
    key = await user.create_key([CHAT, CHAT_2, GUARD])
    hashed = token_hash(key["key"])
    client = sdk(litellm_stack, key["key"])
    assert sorted((await litellm_admin.key_info(hashed)).models) == sorted([CHAT, CHAT_2, GUARD])

    await user.call("POST", f"/subscriptions/{chat_sub}/cancel", 200)
    assert sorted((await litellm_admin.key_info(hashed)).models) == sorted([CHAT_2, GUARD])
    with pytest.raises(openai.APIStatusError) as refused:
        await chat(client, model=CHAT)
    assert refused.value.status_code in (401, 403)
    assert (await chat(client, model=CHAT_2)).choices
    # Editing the key may keep the suspended model on it (still not granted), not add new ones.
    edited = (
        await user.call("PATCH", f"/keys/{key['id']}", 200, json={"models": [CHAT, CHAT_2, GUARD], "rpm_limit": 90})
    ).json()
    assert sorted(edited["effective_models"]) == sorted([CHAT_2, GUARD])
    await user.call("PATCH", f"/keys/{key['id']}", 400, json={"models": [CHAT, CHAT_2, GUARD, CHAT_3]})
    assert sorted((await litellm_admin.key_info(hashed)).models) == sorted([CHAT_2, GUARD])

    await admin.decide(guard_sub, "deny", "audit finding")
    assert (await litellm_admin.key_info(hashed)).models == [CHAT_2]
    with pytest.raises(openai.APIStatusError):
        await chat(client, model=GUARD)

    await admin.decide(guard_sub, "approve")
    await user.subscribe(CHAT)
    assert sorted((await litellm_admin.key_info(hashed)).models) == sorted([CHAT, CHAT_2, GUARD])
    assert (await chat(client, model=GUARD)).choices
    assert (await chat(client, model=CHAT)).choices

    # The key's own model list is unchanged; only what LiteLLM grants moved.
    view = (await user.call("GET", f"/keys/{key['id']}", 200)).json()
    assert sorted(view["models"]) == sorted([CHAT, CHAT_2, GUARD])


async def test_every_model_gone_leaves_a_key_with_no_access(login: Any, litellm_stack: Any, litellm_admin: Any) -> None:
    user = api(await login())
    sid = (await user.subscribe(CHAT))["id"]
    key = await user.create_key([CHAT])
    await user.call("POST", f"/subscriptions/{sid}/cancel", 200)
    # Not an empty list, which LiteLLM would read as "all models".
    assert (await litellm_admin.key_info(token_hash(key["key"]))).granted_models == []
    with pytest.raises(openai.APIStatusError):
        await chat(sdk(litellm_stack, key["key"]), model=CHAT_3)


async def test_litellm_blip_during_a_transition_is_undone(
    login: Any, litellm_stack: Any, litellm_admin: Any, transport: Any
) -> None:
    user = api(await login())
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack)
    sid = (await user.subscribe(name))["id"]
    await user.subscribe(CHAT)
    keys = [await user.create_key([name, CHAT]) for _ in range(2)]

    # A single failed request is absorbed by the client's retry of the idempotent update.
    transport.cut_after("/key/update", times=0, failures=1)
    await user.call("POST", f"/subscriptions/{sid}/cancel", 200)
    await user.subscribe(name)
    for key in keys:
        assert sorted((await litellm_admin.key_info(token_hash(key["key"]))).models) == sorted([name, CHAT])

    # One key's update fails twice (attempt and retry) after the other key's went through:
    # 503, and the key already updated is put back.
    transport.cut_after("/key/update", times=1, failures=2)
    failed = await user.call("POST", f"/subscriptions/{sid}/cancel", 503)
    assert failed.json()["error"] == "upstream_unavailable"
    assert (await user.call("GET", f"/subscriptions/{sid}", 200)).json()["status"] == "active"
    for key in keys:
        assert sorted((await litellm_admin.key_info(token_hash(key["key"]))).models) == sorted([name, CHAT])
    history = (await user.call("GET", f"/subscriptions/{sid}/history", 200)).json()
    assert [h["action"] for h in history] == ["subscribe", "cancel", "subscribe"]

    await user.call("POST", f"/subscriptions/{sid}/cancel", 200)
    for key in keys:
        assert (await litellm_admin.key_info(token_hash(key["key"]))).models == [CHAT]


async def test_litellm_outage_mid_transition_leaves_nothing_reconcile_cannot_fix(
    login: Any, litellm_stack: Any, litellm_admin: Any, transport: Any
) -> None:
    user = api(await login())
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack)
    sid = (await user.subscribe(name))["id"]
    await user.subscribe(CHAT)
    keys = [await user.create_key([name, CHAT]) for _ in range(3)]

    # LiteLLM stops right after the first key update: the undo cannot reach it either.
    transport.cut_after("/key/update", times=1)
    await user.call("POST", f"/subscriptions/{sid}/cancel", 503)
    await user.call("POST", f"/subscriptions/{sid}/cancel", 503)
    transport.restore()
    assert (await user.call("GET", f"/subscriptions/{sid}", 200)).json()["status"] == "active"
    drifted = [k for k in keys if (await litellm_admin.key_info(token_hash(k["key"]))).models == [CHAT]]
    assert len(drifted) == 1  # the one update that landed before the outage

    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    fixed = [c for c in report["changes"] if c["kind"] == "key.update_in_litellm" and c["applied"]]
    assert any(drifted[0]["id"] in c["target"] for c in fixed)
    for key in keys:
        assert sorted((await litellm_admin.key_info(token_hash(key["key"]))).models) == sorted([name, CHAT])


# --------------------------------------------------------------------------- a denial is sticky
#
# From `denied`, every action a user or admin can take: only request review → an admin decision
# (or the admin's own approve / revert) brings access back. Each step checks the row in the
# database and the user's key at the real proxy.


def _db_status(settings: Any, sid: str) -> str:
    return str(db_rows(settings.database_url, "SELECT status FROM subscriptions WHERE id = %s", sid)[0][0])


async def _denied_with_key(login: Any, admin: Any, model: str) -> tuple[Any, str, dict[str, Any]]:
    """A user with an active subscription to ``model`` and CHAT_2 on one key; the admin then denies ``model``."""
    user = api(await login())
    sid = (await user.subscribe(model))["id"]
    if (await user.call("GET", f"/subscriptions/{sid}", 200)).json()["status"] == "pending":
        await admin.decide(sid, "approve")
    await user.subscribe(CHAT_2)
    key = await user.create_key([model, CHAT_2])
    denied = await admin.decide(sid, "deny", "not for this team")
    assert denied["status"] == "denied"
    return user, sid, key


async def _assert_no_access(litellm_stack: Any, litellm_admin: Any, key: dict[str, Any], model: str) -> None:
    assert (await litellm_admin.key_info(token_hash(key["key"]))).granted_models == [CHAT_2]
    with pytest.raises(openai.APIStatusError) as refused:
        await chat(sdk(litellm_stack, key["key"]), model=model)
    assert refused.value.status_code in (401, 403)


async def _assert_access(litellm_stack: Any, litellm_admin: Any, key: dict[str, Any], model: str) -> None:
    assert sorted((await litellm_admin.key_info(token_hash(key["key"]))).granted_models) == sorted([model, CHAT_2])
    assert (await chat(sdk(litellm_stack, key["key"]), model=model)).choices


async def test_cancel_and_subscribe_again_does_not_undo_a_denial(
    login: Any, settings: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    """The finding: deny → the user cancels → subscribes again was active, with working keys."""
    admin = api(await login(role="admin"))
    user, sid, key = await _denied_with_key(login, admin, CHAT)  # an open model: subscribe means active
    await _assert_no_access(litellm_stack, litellm_admin, key, CHAT)

    await user.subscribe(CHAT, expect=409)  # subscribing over a denial
    assert _db_status(settings, sid) == "denied"
    assert (await user.call("POST", f"/subscriptions/{sid}/cancel", 200)).json()["status"] == "cancelled"
    again = await user.subscribe(CHAT)
    assert again["id"] == sid and again["status"] == "denied"
    assert again["status_reason"] == "not for this team"
    assert _db_status(settings, sid) == "denied"
    await _assert_no_access(litellm_stack, litellm_admin, key, CHAT)
    blocked = await user.subscribe(CHAT, expect=409)
    assert blocked["error"] == "subscription_denied"
    history = (await user.call("GET", f"/subscriptions/{sid}/history", 200)).json()
    assert [(h["action"], h["to_status"]) for h in history][-3:] == [
        ("deny", "denied"),
        ("cancel", "cancelled"),
        ("subscribe", "denied"),
    ]


async def test_withdrawn_review_keeps_the_denial_and_review_then_approval_restores(
    login: Any, settings: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    admin = api(await login(role="admin"))
    user, sid, key = await _denied_with_key(login, admin, CHAT_3)

    review = (await user.call("POST", f"/subscriptions/{sid}/request-review", 200, json={"reason": "pls"})).json()
    assert review["status"] == "pending"
    await user.call("POST", f"/subscriptions/{sid}/request-review", 409)  # already pending
    await _assert_no_access(litellm_stack, litellm_admin, key, CHAT_3)
    # Withdrawing the request (cancel) and subscribing again lands back on the denial.
    await user.call("POST", f"/subscriptions/{sid}/cancel", 200)
    assert (await user.subscribe(CHAT_3))["status"] == "denied"
    assert _db_status(settings, sid) == "denied"
    await _assert_no_access(litellm_stack, litellm_admin, key, CHAT_3)

    # The way back: request review, then an admin's approval.
    await user.call("POST", f"/subscriptions/{sid}/request-review", 200)
    await _assert_no_access(litellm_stack, litellm_admin, key, CHAT_3)
    assert (await admin.decide(sid, "approve"))["status"] == "active"
    assert _db_status(settings, sid) == "active"
    await _assert_access(litellm_stack, litellm_admin, key, CHAT_3)


async def test_admin_actions_from_denied(login: Any, settings: Any, litellm_stack: Any, litellm_admin: Any) -> None:
    admin = api(await login(role="admin"))
    _user, sid, key = await _denied_with_key(login, admin, CODE)

    denied_again = await admin.decide(sid, "deny", "still no", expect=409)
    assert denied_again["error"] == "invalid_transition"
    # Revert takes the denial back to an undecided request: still no access.
    assert (await admin.decide(sid, "revert", "denied the wrong person"))["status"] == "pending"
    assert _db_status(settings, sid) == "pending"
    await _assert_no_access(litellm_stack, litellm_admin, key, CODE)
    # Denied again, then approved straight from denied: the admin's decision restores access.
    await admin.decide(sid, "deny", "on second thought, no")
    await _assert_no_access(litellm_stack, litellm_admin, key, CODE)
    assert (await admin.decide(sid, "approve"))["status"] == "active"
    assert _db_status(settings, sid) == "active"
    await _assert_access(litellm_stack, litellm_admin, key, CODE)


async def test_model_restriction_changes_and_deletion_do_not_lift_a_denial(
    login: Any, settings: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack, restricted=True)
    user, sid, key = await _denied_with_key(login, admin, name)

    # Un-restricting the model (subscribe would now mean active) leaves the denial in place.
    await admin.call("PATCH", f"/admin/models/{name}", 200, json={"restricted": False})
    assert _db_status(settings, sid) == "denied"
    await user.call("POST", f"/subscriptions/{sid}/cancel", 200)
    assert (await user.subscribe(name))["status"] == "denied"
    await _assert_no_access(litellm_stack, litellm_admin, key, name)
    # Restricting it again changes nothing either.
    await admin.call("PATCH", f"/admin/models/{name}", 200, json={"restricted": True})
    assert _db_status(settings, sid) == "denied"

    # Deleting the model ends the subscription; re-creating it (open this time) reuses the
    # subscription row, and the denial is still there.
    await admin.call("DELETE", f"/admin/models/{name}", 200, params={"reason": "retired"})
    assert _db_status(settings, sid) == "cancelled"
    params = {
        "model": "hosted_vllm/ibm-granite/granite-3.2-8b-instruct",
        "api_base": f"{litellm_stack.simulator_url}/v1",
    }
    recreated = {"name": name, "litellm_params": params, "capabilities": ["chat"], "restricted": False}
    await admin.call("POST", "/admin/models", 201, json=recreated)
    assert (await user.subscribe(name))["status"] == "denied"
    assert _db_status(settings, sid) == "denied"
    await _assert_no_access(litellm_stack, litellm_admin, key, name)
