"""API keys through the real LiteLLM proxy: limits, show-once secrets, rotation, revocation, bulk spend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest
import pytest_asyncio

from litemaas.litellm_admin import GenerateKeyRequest
from tests.support.stack import CHAT, CHAT_2, CHAT_3, EMBED, api, chat, db_dump, db_rows, sdk, token_hash

pytestmark = pytest.mark.asyncio


async def _subscribed_user(login: Any, *models: str) -> Any:
    user = api(await login())
    for model in models or (CHAT,):
        await user.subscribe(model)
    return user


@pytest_asyncio.fixture
async def admin(login: Any) -> AsyncIterator[Any]:
    """An admin client; API key settings changed by a test are put back afterwards."""
    client = api(await login(role="admin"))
    before = (await client.call("GET", "/admin/settings/api-keys", 200)).json()
    yield client
    await client.call("PUT", "/admin/settings/api-keys", 200, json=before)


async def test_create_key_shows_secret_once_and_stores_only_its_hash(
    login: Any, litellm_stack: Any, litellm_admin: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login, CHAT, EMBED)
    me = await user.me()
    created = await user.create_key([CHAT, EMBED], alias="laptop", rpm_limit=30, max_budget=2.5)
    secret = created["key"]
    assert secret.startswith("sk-") and len(secret) > 40
    assert created["last4"] == secret[-4:] and created["display"] == f"sk-…{secret[-4:]}"
    assert sorted(created["models"]) == sorted([CHAT, EMBED]) == sorted(created["effective_models"])
    assert (created["rpm_limit"], created["max_budget"]) == (30, 2.5)

    rows = db_rows(backend_database_url, "SELECT token_hash, last4, alias FROM api_keys WHERE id = %s", created["id"])
    assert rows == [(token_hash(secret), secret[-4:], "laptop")]
    assert secret not in db_dump(backend_database_url, "api_keys")

    info = await litellm_admin.key_info(token_hash(secret))
    assert sorted(info.models) == sorted([CHAT, EMBED])
    assert info.user_id == me["user_id"]
    assert info.key_alias == f"{me['username']}/laptop"
    assert (info.rpm_limit, info.max_budget) == (30, 2.5)
    assert info.metadata == {
        "managed_by": "litemaas",
        "litemaas_key_id": created["id"],
        "litemaas_user_id": me["user_id"],
    }

    client = sdk(litellm_stack, secret)
    assert (await chat(client)).choices
    assert len((await client.embeddings.create(model=EMBED, input=["x"])).data) == 1

    # After creation the secret never comes back.
    listed = await user.call("GET", "/keys", 200)
    single = await user.call("GET", f"/keys/{created['id']}", 200)
    for response in (listed, single):
        assert secret not in response.text and '"key"' not in response.text


async def test_limits_use_admin_defaults_and_maximums(login: Any, admin: Any, litellm_admin: Any) -> None:
    await admin.call(
        "PUT",
        "/admin/settings/api-keys",
        200,
        json={
            "defaults": {"rpm_limit": 60, "duration": "7d", "budget_duration": "30d", "max_budget": 5},
            "maximums": {"rpm_limit": 100, "tpm_limit": 10000, "max_budget": 50, "duration": "30d"},
            "max_active_keys_per_user": 10,
        },
    )
    user = await _subscribed_user(login)
    limits = (await user.call("GET", "/keys/limits", 200)).json()
    assert limits["settings"]["maximums"]["rpm_limit"] == 100 and limits["max_active_keys"] == 10

    defaulted = await user.create_key([CHAT])
    assert (defaulted["rpm_limit"], defaulted["tpm_limit"], defaulted["max_budget"]) == (60, 10000, 5)
    assert defaulted["budget_duration"] == "30d"
    expires = datetime.fromisoformat(defaulted["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    info = await litellm_admin.key_info(token_hash(defaulted["key"]))
    assert (info.rpm_limit, info.tpm_limit, info.max_budget, info.budget_duration) == (60, 10000, 5.0, "30d")
    assert info.expires is not None

    chosen = await user.create_key([CHAT], rpm_limit=100, tpm_limit=500, duration="30d", max_budget=50)
    assert (chosen["rpm_limit"], chosen["tpm_limit"]) == (100, 500)

    for body, field in (
        ({"rpm_limit": 101}, "rpm_limit"),
        ({"tpm_limit": 10001}, "tpm_limit"),
        ({"max_budget": 50.01}, "max_budget"),
        ({"duration": "31d"}, "duration"),
        ({"duration": "forever"}, "duration"),
        ({"rpm_limit": 0}, "rpm_limit"),
        ({"max_parallel_requests": -1}, "max_parallel_requests"),
        ({"max_budget": -1}, "max_budget"),
        ({"budget_duration": "1 month"}, "budget_duration"),
        ({"max_budget": 1, "soft_budget": 2}, "soft_budget"),
    ):
        refused = await user.create_key([CHAT], expect=400, **body)
        assert refused["field"] == field, (body, refused)
        assert field in refused["detail"]
    malformed = await user.create_key([CHAT], expect=422, rpm_limit="lots")
    assert malformed["error"] == "validation_error"
    await user.create_key([CHAT], expect=422, surprise=True)

    # Settings themselves are validated, and only admins change them.
    bad = await admin.call(
        "PUT", "/admin/settings/api-keys", 400, json={"defaults": {"rpm_limit": 200}, "maximums": {"rpm_limit": 100}}
    )
    assert bad.json()["field"] == "defaults.rpm_limit"
    readonly = api(await login(role="admin_readonly"))
    assert (await readonly.call("GET", "/admin/settings/api-keys", 200)).json()["maximums"]["rpm_limit"] == 100
    await readonly.call("PUT", "/admin/settings/api-keys", 403, json={})
    await user.call("PUT", "/admin/settings/api-keys", 403, json={})
    # No key was created by any refused request.
    assert len((await user.call("GET", "/keys", 200)).json()["items"]) == 2


async def test_models_must_be_known_and_actively_subscribed(login: Any) -> None:
    user = await _subscribed_user(login, CHAT)
    unknown = await user.create_key([CHAT, "gpt-17-ultra"], expect=400)
    assert unknown["field"] == "models" and "gpt-17-ultra" in unknown["detail"]
    unsubscribed = await user.create_key([CHAT, CHAT_2], expect=400)
    assert unsubscribed["field"] == "models" and CHAT_2 in unsubscribed["detail"]
    await user.create_key([], expect=422)
    bad_alias = await user.create_key([CHAT], expect=400, alias="../../etc")
    assert bad_alias["field"] == "alias"
    assert (await user.call("GET", "/keys", 200)).json()["items"] == []


async def test_per_user_active_key_cap(login: Any, admin: Any, litellm_admin: Any) -> None:
    user = await _subscribed_user(login)
    keys = [await user.create_key([CHAT]) for _ in range(10)]
    capped = await user.create_key([CHAT], expect=409)
    assert capped["error"] == "key_limit_reached"
    await user.call("POST", f"/keys/{keys[0]['id']}/revoke", 200)
    await user.create_key([CHAT])

    me = await user.me()
    await admin.call("PUT", f"/admin/users/{me['user_id']}/limits", 200, json={"max_active_keys": 2})
    await user.create_key([CHAT], expect=409)
    limits = (await user.call("GET", "/keys/limits", 200)).json()
    assert (limits["max_active_keys"], limits["active_keys"]) == (2, 10)
    assert len(await litellm_admin.list_user_keys(me["user_id"])) == 10


async def test_concurrent_double_create_makes_one_key_and_no_orphan(login: Any, litellm_admin: Any) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    results = await asyncio.gather(
        *(user.call("POST", "/keys", None, json={"alias": "same-name", "models": [CHAT]}) for _ in range(5))
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409, 409]
    assert {r.json()["field"] for r in results if r.status_code == 409} == {"alias"}
    in_litellm = await litellm_admin.list_user_keys(me["user_id"])
    winner = next(r.json() for r in results if r.status_code == 201)
    assert [k.token for k in in_litellm] == [token_hash(winner["key"])]


async def test_rotate_keeps_everything_but_the_secret(login: Any, litellm_stack: Any, litellm_admin: Any) -> None:
    user = await _subscribed_user(login, CHAT, CHAT_2)
    me = await user.me()
    old = await user.create_key([CHAT, CHAT_2], alias="ci-runner", rpm_limit=50, max_budget=3, duration="10d")
    old_client = sdk(litellm_stack, old["key"])
    assert (await chat(old_client)).choices

    new = (await user.call("POST", f"/keys/{old['id']}/rotate", 200)).json()
    assert new["key"] != old["key"] and new["id"] == old["id"]
    for field in ("alias", "models", "rpm_limit", "max_budget", "user_id"):
        assert new[field] == old[field], field
    assert abs(datetime.fromisoformat(new["expires_at"]) - datetime.fromisoformat(old["expires_at"])) < timedelta(
        seconds=5
    )
    assert new["rotated_at"] is not None

    with pytest.raises(openai.AuthenticationError):
        await chat(old_client)
    assert (await chat(sdk(litellm_stack, new["key"]), model=CHAT_2)).choices

    info = await litellm_admin.key_info(token_hash(new["key"]))
    assert info.key_alias == f"{me['username']}/ci-runner" and info.user_id == me["user_id"]
    assert sorted(info.models) == sorted([CHAT, CHAT_2]) and info.rpm_limit == 50
    assert not await litellm_admin.key_exists(token_hash(old["key"]))
    assert [k.token for k in await litellm_admin.list_user_keys(me["user_id"])] == [token_hash(new["key"])]


async def test_revoke_deletes_in_litellm_then_marks_revoked(login: Any, litellm_stack: Any, litellm_admin: Any) -> None:
    user = await _subscribed_user(login)
    key = await user.create_key([CHAT])
    client = sdk(litellm_stack, key["key"])
    assert (await chat(client)).choices
    revoked = (await user.call("POST", f"/keys/{key['id']}/revoke", 200, json={"reason": "laptop stolen"})).json()
    assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "laptop stolen"
    assert revoked["effective_models"] == []
    with pytest.raises(openai.AuthenticationError):
        await chat(client)
    assert not await litellm_admin.key_exists(token_hash(key["key"]))
    again = (await user.call("POST", f"/keys/{key['id']}/revoke", 200)).json()
    assert again["status"] == "revoked"
    await user.call("POST", f"/keys/{key['id']}/rotate", 409)
    await user.call("PATCH", f"/keys/{key['id']}", 409, json={"rpm_limit": 5})
    # The alias is free again for a new key.
    await user.create_key([CHAT], alias=key["alias"])
    listed = (await user.call("GET", "/keys", 200, params={"status": "revoked"})).json()["items"]
    assert [k["id"] for k in listed] == [key["id"]]


async def test_edit_name_models_and_limits_within_maximums(
    login: Any, admin: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    await admin.call("PUT", "/admin/settings/api-keys", 200, json={"maximums": {"rpm_limit": 100}})
    user = await _subscribed_user(login, CHAT, CHAT_3)
    me = await user.me()
    key = await user.create_key([CHAT], alias="old-name", rpm_limit=10)
    hashed = token_hash(key["key"])

    edited = (
        await user.call(
            "PATCH", f"/keys/{key['id']}", 200, json={"alias": "new-name", "models": [CHAT, CHAT_3], "rpm_limit": 99}
        )
    ).json()
    assert (edited["alias"], edited["rpm_limit"]) == ("new-name", 99)
    assert sorted(edited["models"]) == sorted([CHAT, CHAT_3])
    info = await litellm_admin.key_info(hashed)
    assert info.key_alias == f"{me['username']}/new-name" and info.rpm_limit == 99
    assert sorted(info.models) == sorted([CHAT, CHAT_3])
    assert (await chat(sdk(litellm_stack, key["key"]), model=CHAT_3)).choices

    refused = await user.call("PATCH", f"/keys/{key['id']}", 400, json={"rpm_limit": 101})
    assert refused.json()["field"] == "rpm_limit"
    await user.call("PATCH", f"/keys/{key['id']}", 400, json={"models": [CHAT_2]})
    # null returns a limit to its default (here: the maximum, as no default is set).
    reset = (await user.call("PATCH", f"/keys/{key['id']}", 200, json={"rpm_limit": None})).json()
    assert reset["rpm_limit"] == 100
    assert (await litellm_admin.key_info(hashed)).rpm_limit == 100
    assert (await litellm_admin.key_info(hashed)).key_alias == f"{me['username']}/new-name"

    other = await user.create_key([CHAT], alias="taken")
    clash = await user.call("PATCH", f"/keys/{key['id']}", 409, json={"alias": "taken"})
    assert clash.json()["field"] == "alias"
    assert other["alias"] == "taken"


async def test_listing_fetches_spend_in_one_call(login: Any, litellm_admin: Any, transport: Any) -> None:
    user = await _subscribed_user(login)
    keys = [await user.create_key([CHAT], max_budget=10.0) for _ in range(5)]
    await litellm_admin.update_key(token_hash(keys[2]["key"]), spend=1.5)

    transport.calls.clear()
    listing = (await user.call("GET", "/keys", 200)).json()
    litellm_calls = list(transport.calls)
    assert litellm_calls == [next(c for c in litellm_calls if c.startswith("GET /key/list"))]
    assert listing["usage_available"] is True
    by_id = {k["id"]: k for k in listing["items"]}
    assert by_id[keys[2]["id"]]["usage"]["spend"] == pytest.approx(1.5)
    assert by_id[keys[2]["id"]]["usage"]["budget_remaining"] == pytest.approx(8.5)
    assert by_id[keys[0]["id"]]["usage"]["spend"] == 0

    # LiteLLM down: keys are still listed, without live spend.
    transport.cut()
    degraded = (await user.call("GET", "/keys", 200)).json()
    transport.restore()
    assert degraded["usage_available"] is False and len(degraded["items"]) == 5
    assert all(k["usage"] is None for k in degraded["items"])


async def test_other_users_keys_are_invisible(login: Any, litellm_stack: Any) -> None:
    alice = await _subscribed_user(login)
    bob = await _subscribed_user(login)
    key = await alice.create_key([CHAT])
    for method, path in (
        ("GET", f"/keys/{key['id']}"),
        ("PATCH", f"/keys/{key['id']}"),
        ("POST", f"/keys/{key['id']}/rotate"),
        ("POST", f"/keys/{key['id']}/revoke"),
    ):
        response = await bob.call(method, path, None, json={} if method != "GET" else None)
        assert response.status_code == 404, (method, path, response.text)
    assert (await bob.call("GET", "/keys", 200)).json()["items"] == []
    assert (await chat(sdk(litellm_stack, key["key"]))).choices


async def test_admin_manages_any_users_keys_and_limits(
    login: Any, admin: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    readonly = api(await login(role="admin_readonly"))
    key = await user.create_key([CHAT], max_budget=4.0)
    hashed = token_hash(key["key"])
    await litellm_admin.update_key(hashed, spend=3.0)

    listed = (await readonly.call("GET", "/admin/keys", 200, params={"user_id": me["user_id"]})).json()
    assert listed["total"] == 1 and listed["items"][0]["usage"]["spend"] == pytest.approx(3.0)
    assert (await readonly.call("GET", f"/admin/keys/{key['id']}", 200)).json()["alias"] == key["alias"]

    # Only admins reset quotas.
    for who in (user, readonly):
        await who.call("POST", f"/admin/keys/{key['id']}/reset-spend", 403)
        await who.call("PUT", f"/admin/users/{me['user_id']}/limits", 403, json={"max_budget": 1})
        await who.call("POST", f"/admin/keys/{key['id']}/revoke", 403)
        await who.call("PATCH", f"/admin/keys/{key['id']}", 403, json={"rpm_limit": 1})
    reset = (await admin.call("POST", f"/admin/keys/{key['id']}/reset-spend", 200)).json()
    assert reset["usage"]["spend"] == 0
    assert (await litellm_admin.key_info(hashed)).spend == 0

    limits = (
        await admin.call(
            "PUT",
            f"/admin/users/{me['user_id']}/limits",
            200,
            json={"max_budget": 20.0, "tpm_limit": 5000, "rpm_limit": 50, "budget_duration": "30d"},
        )
    ).json()
    assert limits["tpm_limit"] == 5000
    litellm_user = await litellm_admin.user_info(me["user_id"])
    assert (litellm_user.max_budget, litellm_user.tpm_limit, litellm_user.rpm_limit) == (20.0, 5000, 50)
    shown = (await readonly.call("GET", f"/admin/users/{me['user_id']}/limits", 200)).json()
    assert shown["rpm_limit"] == 50
    await admin.call("PUT", f"/admin/users/{me['user_id']}/limits", 400, json={"rpm_limit": 0})

    edited = (await admin.call("PATCH", f"/admin/keys/{key['id']}", 200, json={"rpm_limit": 7})).json()
    assert edited["rpm_limit"] == 7
    created = (
        await admin.call(
            "POST", f"/admin/users/{me['user_id']}/keys", 201, json={"alias": "by-admin", "models": [CHAT]}
        )
    ).json()
    assert created["user_id"] == me["user_id"]
    rotated = (await admin.call("POST", f"/admin/keys/{created['id']}/rotate", 200)).json()
    assert rotated["alias"] == "by-admin" and rotated["user_id"] == me["user_id"]
    await admin.call("POST", f"/admin/keys/{key['id']}/revoke", 200, json={"reason": "policy"})
    with pytest.raises(openai.AuthenticationError):
        await chat(sdk(litellm_stack, key["key"]))

    events = (await readonly.call("GET", "/admin/audit", 200, params={"target_id": key["id"], "limit": 50})).json()[
        "items"
    ]
    assert {"api_key.create", "api_key.reset_spend", "api_key.update", "api_key.revoke"} <= {
        e["action"] for e in events
    }


async def test_litellm_outage_gives_503_and_no_half_state(
    login: Any, litellm_stack: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    kept = await user.create_key([CHAT], alias="kept")

    transport.cut()
    down = await user.call("POST", "/keys", 503, json={"alias": "during-outage", "models": [CHAT]})
    assert down.json()["error"] == "upstream_unavailable"
    await user.call("POST", f"/keys/{kept['id']}/revoke", 503)
    await user.call("POST", f"/keys/{kept['id']}/rotate", 503)
    await user.call("PATCH", f"/keys/{kept['id']}", 503, json={"rpm_limit": 3})
    transport.restore()

    rows = db_rows(
        backend_database_url, "SELECT alias, status, rpm_limit FROM api_keys WHERE user_id = %s", me["user_id"]
    )
    assert rows == [("kept", "active", None)]
    assert [k.token for k in await litellm_admin.list_user_keys(me["user_id"])] == [token_hash(kept["key"])]
    assert (await chat(sdk(litellm_stack, kept["key"]))).choices


async def test_lost_answer_on_create_leaves_no_orphan(login: Any, litellm_admin: Any, transport: Any) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    transport.lose_response_of("/key/generate")
    await user.call("POST", "/keys", 503, json={"alias": "lost", "models": [CHAT]})
    # The key LiteLLM did create was removed again; our row was rolled back.
    assert await litellm_admin.list_user_keys(me["user_id"]) == []
    assert (await user.call("GET", "/keys", 200)).json()["items"] == []
    assert (await user.create_key([CHAT], alias="lost"))["alias"] == "lost"


async def test_rotation_interrupted_mid_way_is_repaired_by_reconcile(
    login: Any, admin: Any, litellm_stack: Any, litellm_admin: Any, transport: Any
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    key = await user.create_key([CHAT], alias="rotating")
    # The successor is created, then LiteLLM stops before the old key is deleted.
    transport.cut_after("/key/delete", times=0)
    await user.call("POST", f"/keys/{key['id']}/rotate", 503)
    transport.restore()

    view = (await user.call("GET", f"/keys/{key['id']}", 200)).json()
    assert view["last4"] == key["last4"] and view["rotated_at"] is None
    assert (await chat(sdk(litellm_stack, key["key"]))).choices
    leftovers = await litellm_admin.list_user_keys(me["user_id"])
    assert len(leftovers) == 2  # the old key and the unannounced successor

    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert any(c["kind"] == "key.delete_in_litellm" and c["applied"] for c in report["changes"])
    assert [k.token for k in await litellm_admin.list_user_keys(me["user_id"])] == [token_hash(key["key"])]
    assert (await chat(sdk(litellm_stack, key["key"]))).choices


async def test_no_secret_in_audit_or_logs(
    login: Any, admin: Any, backend_database_url: str, capsys: Any, caplog: Any
) -> None:
    user = await _subscribed_user(login)
    created = await user.create_key([CHAT], alias="secret-check")
    rotated = (await user.call("POST", f"/keys/{created['id']}/rotate", 200)).json()
    await user.call("PATCH", f"/keys/{created['id']}", 200, json={"rpm_limit": 9})
    await user.call("POST", f"/keys/{created['id']}/revoke", 200)
    await admin.call("GET", "/admin/audit", 200, params={"target_id": created["id"]})

    secrets_issued = [created["key"], rotated["key"]]
    audit = db_dump(backend_database_url, "audit_events")
    assert created["id"] in audit
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "api_key.create" in logs
    for secret in secrets_issued:
        assert secret not in audit
        assert secret[3:] not in audit
        assert secret not in logs
    for response in user.responses + admin.responses:
        body = response.text
        if response.request.url.path.endswith(("/keys", "/rotate")) and response.request.method == "POST":
            continue  # the two show-once answers
        for secret in secrets_issued:
            assert secret not in body


async def test_deactivated_owner_cannot_get_keys(
    login: Any, admin: Any, litellm_stack: Any, litellm_admin: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    key = await user.create_key([CHAT], alias="before")
    assert (await chat(sdk(litellm_stack, key["key"]))).choices
    await admin.call("PUT", f"/admin/users/{me['user_id']}/active", 200, json={"is_active": False})

    # Not through their own session (it is dead), nor through an admin acting for them.
    await user.call("POST", "/keys", 401, json={"alias": "mine", "models": [CHAT]})
    await user.call("POST", f"/keys/{key['id']}/rotate", 401)
    issued = await admin.call("POST", f"/admin/users/{me['user_id']}/keys", 409, json={"alias": "x", "models": [CHAT]})
    assert issued.json()["error"] == "conflict"
    rotated = await admin.call("POST", f"/admin/keys/{key['id']}/rotate", 409)
    assert rotated.json()["error"] == "conflict"

    # Nothing new exists on either side, and the key they had does not work.
    rows = db_rows(backend_database_url, "SELECT alias, token_hash FROM api_keys WHERE user_id = %s", me["user_id"])
    assert rows == [("before", token_hash(key["key"]))]
    live = await litellm_admin.list_user_keys(me["user_id"])
    assert [(k.token, k.blocked) for k in live] == [(token_hash(key["key"]), True)]
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        await chat(sdk(litellm_stack, key["key"]))


# --------------------------------------------------------------------------- outages at exact points


async def test_revoke_with_the_delete_answer_lost_is_revoked_on_both_sides(
    login: Any, litellm_stack: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    key = await user.create_key([CHAT])
    hashed = token_hash(key["key"])
    transport.lose_response_of("/key/delete")
    transport.calls.clear()
    revoked = (await user.call("POST", f"/keys/{key['id']}/revoke", 200)).json()
    # LiteLLM deleted the key but the answer was lost; the retry found it gone.
    assert transport.calls.count("POST /key/delete") == 2
    assert revoked["status"] == "revoked"
    assert db_rows(backend_database_url, "SELECT status FROM api_keys WHERE id = %s", key["id"]) == [("revoked",)]
    assert not await litellm_admin.key_exists(hashed)
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        await chat(sdk(litellm_stack, key["key"]))


async def test_rotation_cut_at_the_alias_step_works_and_reconcile_sets_the_alias(
    login: Any, admin: Any, litellm_stack: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    key = await user.create_key([CHAT], alias="moving", rpm_limit=40)
    # Successor created and old key deleted; LiteLLM stops before the alias moves over.
    transport.cut_after("/key/update", times=0)
    rotated = (await user.call("POST", f"/keys/{key['id']}/rotate", 200)).json()
    transport.restore()
    new_hash = token_hash(rotated["key"])

    rows = db_rows(backend_database_url, "SELECT token_hash, last4 FROM api_keys WHERE id = %s", key["id"])
    assert rows == [(new_hash, rotated["key"][-4:])]
    (live,) = await litellm_admin.list_user_keys(me["user_id"])
    assert live.token == new_hash and live.key_alias is None
    assert (live.models, live.rpm_limit, live.metadata["litemaas_key_id"]) == ([CHAT], 40, key["id"])
    assert (await chat(sdk(litellm_stack, rotated["key"]))).choices
    with pytest.raises(openai.AuthenticationError):
        await chat(sdk(litellm_stack, key["key"]))

    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    fixed = [c for c in report["changes"] if key["id"] in c["target"]]
    assert [(c["kind"], c["applied"]) for c in fixed] == [("key.update_in_litellm", True)]
    assert (await litellm_admin.key_info(new_hash)).key_alias == f"{me['username']}/moving"
    again = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert not [c for c in again["changes"] if key["id"] in c["target"]]


async def _orphan_holding_alias(litellm_admin: Any, me: dict[str, Any], alias: str) -> str:
    """A key of ours in LiteLLM that LiteMaaS does not know (a create that died half-way)."""
    secret = "sk-" + uuid.uuid4().hex + uuid.uuid4().hex
    await litellm_admin.generate_key(
        GenerateKeyRequest(
            key=secret,
            user_id=me["user_id"],
            models=[CHAT],
            key_alias=f"{me['username']}/{alias}",
            metadata={
                "managed_by": "litemaas",
                "litemaas_key_id": str(uuid.uuid4()),
                "litemaas_user_id": me["user_id"],
            },
        )
    )
    return token_hash(secret)


async def test_create_clears_an_orphan_holding_the_alias(login: Any, litellm_admin: Any) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    orphan = await _orphan_holding_alias(litellm_admin, me, "taken")
    created = await user.create_key([CHAT], alias="taken")
    assert [k.token for k in await litellm_admin.list_user_keys(me["user_id"])] == [token_hash(created["key"])]
    assert not await litellm_admin.key_exists(orphan)


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(("/key/list", 0), id="listing-the-holders"),
        pytest.param(("/key/delete", 0), id="deleting-the-orphan"),
        pytest.param(("/key/generate", 1), id="creating-again"),
    ],
)
async def test_outage_while_clearing_an_orphan_alias_leaves_what_reconcile_repairs(
    login: Any,
    admin: Any,
    litellm_stack: Any,
    litellm_admin: Any,
    transport: Any,
    backend_database_url: str,
    cut: tuple[str, int],
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    orphan = await _orphan_holding_alias(litellm_admin, me, "taken")
    transport.cut_after(*cut)
    failed = await user.call("POST", "/keys", json={"alias": "taken", "models": [CHAT]})
    transport.restore()
    # LiteLLM could not answer: "try again shortly", not "LiteLLM refused" (the alias error).
    assert (failed.status_code, failed.json()["error"]) == (503, "upstream_unavailable"), failed.text

    # No row here; in LiteLLM at most the orphan (never a key nobody was told about).
    assert db_rows(backend_database_url, "SELECT id FROM api_keys WHERE user_id = %s", me["user_id"]) == []
    left = {k.token for k in await litellm_admin.list_user_keys(me["user_id"])}
    assert left <= {orphan}
    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert not [e for e in report["errors"] if me["user_id"] in e]
    assert await litellm_admin.list_user_keys(me["user_id"]) == []
    created = await user.create_key([CHAT], alias="taken")
    assert (await chat(sdk(litellm_stack, created["key"]))).choices


async def test_lost_answer_while_creating_again_after_clearing_leaves_nothing(
    login: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    await _orphan_holding_alias(litellm_admin, me, "taken")
    # The first /key/generate is refused (alias taken); the answer to the second is lost.
    transport.lose_response_of("/key/generate", skip=1)
    await user.call("POST", "/keys", 503, json={"alias": "taken", "models": [CHAT]})
    assert db_rows(backend_database_url, "SELECT id FROM api_keys WHERE user_id = %s", me["user_id"]) == []
    assert await litellm_admin.list_user_keys(me["user_id"]) == []


async def test_user_limits_under_an_outage_change_on_neither_side(
    login: Any, admin: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    uid = (await user.me())["user_id"]
    path = f"/admin/users/{uid}/limits"
    await admin.call("PUT", path, 200, json={"max_budget": 5.0, "rpm_limit": 10, "budget_duration": "30d"})
    limits = "SELECT max_budget, budget_duration, tpm_limit, rpm_limit FROM user_limits WHERE user_id = %s"
    baseline = db_rows(backend_database_url, limits, uid)
    assert baseline == [(5.0, "30d", None, 10)]

    transport.cut()
    down = await admin.call("PUT", path, 503, json={"max_budget": 50.0, "rpm_limit": 99, "tpm_limit": 1000})
    transport.restore()
    assert down.json()["error"] == "upstream_unavailable"
    assert db_rows(backend_database_url, limits, uid) == baseline
    info = await litellm_admin.user_info(uid)
    assert (info.max_budget, info.budget_duration, info.tpm_limit, info.rpm_limit) == (5.0, "30d", None, 10)

    # A lost answer is retried (the update is absolute): both sides end with the new limits.
    transport.lose_response_of("/user/update")
    await admin.call("PUT", path, 200, json={"max_budget": 50.0, "rpm_limit": 99, "tpm_limit": 1000})
    assert db_rows(backend_database_url, limits, uid) == [(50.0, None, 1000, 99)]
    info = await litellm_admin.user_info(uid)
    assert (info.max_budget, info.budget_duration, info.tpm_limit, info.rpm_limit) == (50.0, None, 1000, 99)


async def test_user_limits_answer_lost_then_outage_is_repaired_by_reconcile(
    login: Any, admin: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    me = await user.me()
    uid = me["user_id"]
    path = f"/admin/users/{uid}/limits"
    await admin.call("PUT", path, 200, json={"max_budget": 5.0, "rpm_limit": 10, "budget_duration": "30d"})
    limits = "SELECT max_budget, budget_duration, tpm_limit, rpm_limit FROM user_limits WHERE user_id = %s"
    baseline = db_rows(backend_database_url, limits, uid)

    # LiteLLM applies the update but the answer is lost, and the retry finds it gone.
    transport.lose_response_of("/user/update")
    transport.cut_after("/user/update", times=1)
    await admin.call("PUT", path, 503, json={"max_budget": 50.0, "rpm_limit": 99, "tpm_limit": 1000})
    transport.restore()
    assert db_rows(backend_database_url, limits, uid) == baseline
    info = await litellm_admin.user_info(uid)
    assert (info.max_budget, info.budget_duration, info.tpm_limit, info.rpm_limit) == (50.0, None, 1000, 99)

    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    fixed = [c for c in report["changes"] if c["target"] == me["username"]]
    assert [(c["kind"], c["applied"]) for c in fixed] == [("user.limits_in_litellm", True)]
    info = await litellm_admin.user_info(uid)
    assert (info.max_budget, info.budget_duration, info.tpm_limit, info.rpm_limit) == (5.0, "30d", None, 10)
    again = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert not [c for c in again["changes"] if c["target"] == me["username"]]
