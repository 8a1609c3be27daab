"""Key cleanup against the real LiteLLM proxy: expired, old, exempt and already-deleted keys; dry
run changes nothing on either side; overlapping runs do the work once; an outage leaves no
half-done key; every run is recorded and exposed as metrics."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.support.stack import CHAT, api, db_rows, token_hash

pytestmark = pytest.mark.asyncio

_KEY_STATE = "SELECT id::text, status, revoked_reason, revoked_at FROM api_keys WHERE id = ANY(%s::uuid[]) ORDER BY id"


async def _user_with_keys(login: Any, *aliases: str) -> tuple[Any, str, dict[str, dict[str, Any]]]:
    user = api(await login())
    uid = (await user.me())["user_id"]
    await user.subscribe(CHAT)
    keys = {alias: await user.create_key([CHAT], alias=alias) for alias in aliases}
    return user, uid, keys


def _backdate(url: str, key: dict[str, Any], days: int) -> None:
    db_rows(
        url,
        "UPDATE api_keys SET created_at = now() - make_interval(days => %s) WHERE id = %s RETURNING id",
        days,
        key["id"],
    )


def _expire(url: str, key: dict[str, Any]) -> None:
    db_rows(url, "UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE id = %s RETURNING id", key["id"])


def _mine(report: dict[str, Any], keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = {k["id"] for k in keys}
    return {i["key_id"]: i for i in report["items"] if i["key_id"] in ids}


async def _metrics(client: Any) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    found = re.findall(r'^(litemaas_job_\w+)\{job="cleanup-keys"\} (\S+)$', text, re.MULTILINE)
    return {name: float(value) for name, value in found}


async def test_dry_run_then_run_handles_expired_old_gone_and_keeps_exempt(
    login: Any, litellm_admin: Any, backend_database_url: str
) -> None:
    url = backend_database_url
    _, _, keys = await _user_with_keys(login, "fresh", "old", "expired", "gone", "exempt-key")
    _, exempt_uid, exempt_user_keys = await _user_with_keys(login, "old-but-user-exempt")
    _backdate(url, keys["old"], 40)
    _backdate(url, keys["exempt-key"], 400)
    _backdate(url, exempt_user_keys["old-but-user-exempt"], 400)
    _expire(url, keys["expired"])
    await litellm_admin.delete_key(token_hash(keys["gone"]["key"]))
    admin = api(await login(role="admin"))
    await admin.call(
        "PUT", f"/admin/jobs/cleanup-keys/exemptions/keys/{keys['exempt-key']['id']}", 204, json={"reason": "demo box"}
    )
    await admin.call("PUT", f"/admin/jobs/cleanup-keys/exemptions/users/{exempt_uid}", 204, json={"reason": "service"})
    all_keys = [*keys.values(), *exempt_user_keys.values()]
    ids = [k["id"] for k in all_keys]
    before = db_rows(url, _KEY_STATE, ids)

    dry = (await admin.call("POST", "/admin/jobs/cleanup-keys", 200, params={"dry_run": "true"})).json()
    assert dry["dry_run"] is True and dry["max_age_days"] == 30
    mine = _mine(dry, all_keys)
    assert {(i["key_id"], i["action"], i["reason"], i["applied"]) for i in mine.values()} == {
        (keys["old"]["id"], "delete", "older than 30 days", False),
        (keys["expired"]["id"], "delete", "expired", False),
        (keys["gone"]["id"], "mark_revoked", "deleted in LiteLLM", False),
    }
    assert dry["counts"]["kept_exempt"] >= 2
    assert dry["summary"].startswith("cleanup-keys (dry run):")
    # Nothing changed on either side.
    assert db_rows(url, _KEY_STATE, ids) == before
    for name in ("fresh", "old", "expired", "exempt-key"):
        assert await litellm_admin.key_exists(token_hash(keys[name]["key"])), name

    report = (await admin.call("POST", "/admin/jobs/cleanup-keys", 200)).json()
    mine = _mine(report, all_keys)
    assert {k for k, i in mine.items() if i["applied"]} == {keys[n]["id"] for n in ("old", "expired", "gone")}
    assert report["errors"] == [] and report["counts"]["deleted"] >= 2
    for name in ("old", "expired"):
        assert not await litellm_admin.key_exists(token_hash(keys[name]["key"])), name
    for name in ("fresh", "exempt-key"):
        assert await litellm_admin.key_exists(token_hash(keys[name]["key"])), name
    assert await litellm_admin.key_exists(token_hash(exempt_user_keys["old-but-user-exempt"]["key"]))
    state = {row[0]: row[1:3] for row in db_rows(url, _KEY_STATE, ids)}
    assert state[keys["old"]["id"]] == ("revoked", "key cleanup: older than 30 days")
    assert state[keys["expired"]["id"]] == ("revoked", "key cleanup: expired")
    assert state[keys["gone"]["id"]] == ("revoked", "deleted in LiteLLM")
    assert state[keys["fresh"]["id"]][0] == state[keys["exempt-key"]["id"]][0] == "active"
    assert state[exempt_user_keys["old-but-user-exempt"]["id"]][0] == "active"

    again = (await admin.call("POST", "/admin/jobs/cleanup-keys", 200)).json()
    assert _mine(again, all_keys) == {}

    runs = (await admin.call("GET", "/admin/jobs/runs", 200, params={"job": "cleanup-keys", "limit": 3})).json()
    latest = runs["items"][:3]
    assert [r["dry_run"] for r in latest] == [False, False, True]
    assert all(r["status"] == "succeeded" and r["finished_at"] for r in latest)
    assert latest[1]["id"] == report["run_id"] and latest[1]["counts"] == report["counts"]
    assert latest[1]["triggered_by"].startswith("session:")
    figures = await _metrics(admin.client)
    assert figures["litemaas_job_last_run_failed"] == 0
    assert figures["litemaas_job_last_success_timestamp_seconds"] > 1.7e9

    # Removing the exemption makes the key due; a setting changes the limit.
    await admin.call("DELETE", f"/admin/jobs/cleanup-keys/exemptions/keys/{keys['exempt-key']['id']}", 204)
    await admin.call("PUT", "/admin/settings/key-cleanup", 200, json={"max_age_days": 500})
    dry = (await admin.call("POST", "/admin/jobs/cleanup-keys", 200, params={"dry_run": "true"})).json()
    assert dry["max_age_days"] == 500 and _mine(dry, all_keys) == {}
    await admin.call("PUT", "/admin/settings/key-cleanup", 200, json={"max_age_days": None})
    dry = (await admin.call("POST", "/admin/jobs/cleanup-keys", 200, params={"dry_run": "true"})).json()
    assert set(_mine(dry, all_keys)) == {keys["exempt-key"]["id"]}

    events = (await admin.call("GET", "/admin/audit", 200, params={"action": "key_cleanup.", "limit": 50})).json()
    assert {e["action"] for e in events["items"]} >= {"key_cleanup.exempt", "key_cleanup.unexempt"}
    revokes = (await admin.call("GET", "/admin/audit", 200, params={"action": "api_key.revoke", "limit": 200})).json()
    assert any(e.get("reason") == "key cleanup: expired" for e in revokes["items"])


async def test_two_overlapping_runs_do_the_work_once(
    login: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    _, _, first = await _user_with_keys(login, "a1", "a2", "a3")
    _, _, second = await _user_with_keys(login, "b1", "b2", "b3")
    keys = [*first.values(), *second.values()]
    for key in keys:
        _backdate(backend_database_url, key, 31)
    admin_a = api(await login(role="admin"))
    admin_b = api(await login(role="admin"))
    deletes_before = transport.calls.count("POST /key/delete")

    one, two = await asyncio.gather(
        admin_a.call("POST", "/admin/jobs/cleanup-keys", 200), admin_b.call("POST", "/admin/jobs/cleanup-keys", 200)
    )
    reports = [one.json(), two.json()]
    handled = [k for r in reports for k, i in _mine(r, keys).items() if i["applied"]]
    assert sorted(handled) == sorted(k["id"] for k in keys)  # each key once, by one run or the other
    deletes = transport.calls.count("POST /key/delete") - deletes_before
    assert deletes == sum(r["counts"]["deleted"] for r in reports)
    for key in keys:
        assert not await litellm_admin.key_exists(token_hash(key["key"]))
    states = db_rows(backend_database_url, _KEY_STATE, [k["id"] for k in keys])
    assert {row[1] for row in states} == {"revoked"}
    revokes = db_rows(
        backend_database_url,
        "SELECT target_id, count(*) FROM audit_events WHERE action = 'api_key.revoke' AND target_id = ANY(%s)"
        " GROUP BY target_id",
        [k["id"] for k in keys],
    )
    assert sorted(count for _, count in revokes) == [1] * len(keys)


async def test_an_outage_mid_run_leaves_keys_handled_or_untouched(
    login: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    _, _, made = await _user_with_keys(login, "k1", "k2", "k3", "k4")
    keys = list(made.values())
    for key in keys:
        _backdate(backend_database_url, key, 45)
    admin = api(await login(role="admin"))

    # The first deletion's answer is lost (the call is retried: LiteLLM no longer has it, which
    # counts as deleted); the next one gets through; then LiteLLM stops.
    transport.lose_response_of("/key/delete")
    transport.cut_after("/key/delete", times=2)
    failed = await admin.call("POST", "/admin/jobs/cleanup-keys", 503)
    transport.restore()
    assert failed.json()["error"] == "upstream_unavailable"
    assert "recorded as failed" in failed.json()["detail"]

    handled = untouched = 0
    for key in keys:
        (row,) = db_rows(backend_database_url, _KEY_STATE, [key["id"]])
        live = await litellm_admin.key_exists(token_hash(key["key"]))
        if row[1] == "revoked":
            assert not live, key["alias"]
            handled += 1
        else:
            assert row[1] == "active" and live, key["alias"]
            untouched += 1
    assert untouched >= 1 and handled <= 2
    runs = (await admin.call("GET", "/admin/jobs/runs", 200, params={"job": "cleanup-keys", "limit": 1})).json()
    assert runs["items"][0]["status"] == "failed" and "unreachable" in runs["items"][0]["error"]
    assert (await _metrics(admin.client))["litemaas_job_last_run_failed"] == 1

    report = (await admin.call("POST", "/admin/jobs/cleanup-keys", 200)).json()
    assert report["errors"] == []
    for key in keys:
        assert not await litellm_admin.key_exists(token_hash(key["key"]))
    assert {row[1] for row in db_rows(backend_database_url, _KEY_STATE, [k["id"] for k in keys])} == {"revoked"}
    assert (await _metrics(admin.client))["litemaas_job_last_run_failed"] == 0


async def test_litellm_down_before_the_listing_changes_nothing(login: Any, transport: Any) -> None:
    admin = api(await login(role="admin"))
    transport.cut()
    response = await admin.call("POST", "/admin/jobs/cleanup-keys", 503)
    transport.restore()
    assert "LiteLLM" in response.json()["detail"]
    runs = (await admin.call("GET", "/admin/jobs/runs", 200, params={"job": "cleanup-keys", "limit": 1})).json()
    assert runs["items"][0]["status"] == "failed"


async def test_jobs_and_exemptions_need_their_permissions(login: Any) -> None:
    target = (await api(await login()).me())["user_id"]
    for role in ("user", "admin_readonly"):
        who = api(await login(role=role))
        await who.call("POST", "/admin/jobs/cleanup-keys", 403, params={"dry_run": "true"})
        await who.call("POST", "/admin/jobs/reconcile", 403, params={"dry_run": "true"})
        await who.call("PUT", f"/admin/jobs/cleanup-keys/exemptions/users/{target}", 403)
        await who.call("DELETE", f"/admin/jobs/cleanup-keys/exemptions/users/{target}", 403)
        await who.call("PUT", "/admin/settings/key-cleanup", 403, json={"max_age_days": 1})
    reader = api(await login(role="admin_readonly"))
    await reader.call("GET", "/admin/jobs/runs", 200)
    await reader.call("GET", "/admin/jobs/cleanup-keys/exemptions", 200)
    await api(await login()).call("GET", "/admin/jobs/runs", 403)


async def test_bad_input_is_refused_naming_the_field(login: Any) -> None:
    admin = api(await login(role="admin"))
    response = await admin.call("POST", "/admin/jobs/cleanup-keys", 422, params={"max_age_days": "0"})
    assert "max_age_days" in response.text
    missing = await admin.call(
        "PUT", "/admin/jobs/cleanup-keys/exemptions/users/00000000-0000-0000-0000-000000000001", 404
    )
    assert missing.json()["field"] == "user_id"
    await admin.call("DELETE", "/admin/jobs/cleanup-keys/exemptions/keys/00000000-0000-0000-0000-000000000001", 404)
    await admin.call("PUT", "/admin/settings/key-cleanup", 422, json={"max_age_days": 0})
