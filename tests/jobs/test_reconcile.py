"""Reconcile finds and repairs every kind of drift between LiteMaaS and the real LiteLLM proxy."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import openai
import pytest

from litemaas.litellm_admin import KEY_ALLOWED_ROUTES, LITELLM_USER_ROLE, GenerateKeyRequest
from tests.support.stack import CHAT, CHAT_2, GUARD, api, chat, db_rows, sdk, token_hash

pytestmark = pytest.mark.asyncio


async def _make_drift(login: Any, litellm_admin: Any, backend_database_url: str) -> dict[str, Any]:
    """One user with one drift of each kind (plus another owner's key reconcile must leave alone)."""
    user = api(await login())
    me = await user.me()
    uid = me["user_id"]
    await user.subscribe(CHAT)
    await user.subscribe(CHAT_2)
    clean = await user.create_key([CHAT], alias="clean")
    revoked_here = await user.create_key([CHAT], alias="revoked-here")
    extra_model = await user.create_key([CHAT], alias="extra-model")
    gone_there = await user.create_key([CHAT], alias="gone-there")
    renamed = await user.create_key([CHAT, CHAT_2], alias="renamed", rpm_limit=10)
    unrestricted = await user.create_key([CHAT], alias="unrestricted")

    db_rows(
        backend_database_url,
        "UPDATE api_keys SET status = 'revoked', revoked_at = now() WHERE id = %s RETURNING id",
        revoked_here["id"],
    )
    await litellm_admin.update_key(token_hash(extra_model["key"]), models=[CHAT, GUARD])
    await litellm_admin.delete_key(token_hash(gone_there["key"]))
    await litellm_admin.update_key(token_hash(renamed["key"]), key_alias="someone-else", rpm_limit=1000)
    # Issued before the route allowlist existed, and a user made before the role rule.
    await litellm_admin.update_key(token_hash(unrestricted["key"]), allowed_routes=[])
    await litellm_admin.set_user_role(uid, "internal_user")
    orphan_secret = "sk-" + secrets.token_urlsafe(32)
    await litellm_admin.generate_key(
        GenerateKeyRequest(
            key=orphan_secret,
            user_id=uid,
            models=[CHAT],
            metadata={"managed_by": "litemaas", "litemaas_key_id": str(uuid.uuid4()), "litemaas_user_id": uid},
        )
    )
    # Minted by the user's own key at the proxy (possible before the route allowlist): owned by
    # our user, squatting another user's alias, never issued by LiteMaaS.
    minted_secret = "sk-" + secrets.token_urlsafe(32)
    await litellm_admin.generate_key(
        GenerateKeyRequest(
            key=minted_secret, user_id=uid, models=[], key_alias=f"bob-{uid[:8]}/laptop", allowed_routes=[]
        )
    )
    # Someone else's key (a LiteLLM user that is not one of ours): not ours to touch.
    foreign_secret = "sk-" + secrets.token_urlsafe(32)
    await litellm_admin.generate_key(
        GenerateKeyRequest(
            key=foreign_secret, user_id=f"data-science-{uid[:8]}", models=[CHAT], metadata={"team": "data-science"}
        )
    )
    return {
        "user": user,
        "uid": uid,
        "username": me["username"],
        "clean": clean,
        "revoked_here": revoked_here,
        "extra_model": extra_model,
        "gone_there": gone_there,
        "renamed": renamed,
        "unrestricted": unrestricted,
        "orphan": orphan_secret,
        "minted": minted_secret,
        "foreign": foreign_secret,
    }


def _mine(report: dict[str, Any], drift: dict[str, Any]) -> list[dict[str, Any]]:
    ids = [drift[k]["id"] for k in ("clean", "revoked_here", "extra_model", "gone_there", "renamed", "unrestricted")]
    tails = [token_hash(drift[k])[-8:] for k in ("orphan", "minted", "foreign")]
    return [c for c in report["changes"] if any(i in c["target"] for i in [*ids, *tails, drift["username"]])]


async def test_reconcile_reports_then_repairs_every_drift(
    login: Any, litellm_stack: Any, litellm_admin: Any, backend_database_url: str
) -> None:
    drift = await _make_drift(login, litellm_admin, backend_database_url)
    admin = api(await login(role="admin"))

    dry = (await admin.call("POST", "/admin/reconcile", 200, params={"dry_run": "true"})).json()
    assert dry["dry_run"] is True
    found = {(c["kind"], c["applied"]) for c in _mine(dry, drift)}
    assert found == {
        ("key.delete_in_litellm", False),
        ("key.mark_revoked", False),
        ("key.update_in_litellm", False),
        ("user.role_in_litellm", False),
    }
    targets = " ".join(c["target"] + " " + c["detail"] for c in _mine(dry, drift))
    for name in ("revoked_here", "extra_model", "gone_there", "renamed", "unrestricted"):
        assert drift[name]["id"] in targets, name
    assert token_hash(drift["orphan"])[-8:] in targets
    minted = next(c for c in dry["changes"] if token_hash(drift["minted"])[-8:] in c["target"])
    assert minted["kind"] == "key.delete_in_litellm" and "not issued by LiteMaaS" in minted["detail"]
    assert f"internal_user → {LITELLM_USER_ROLE}" in targets
    assert drift["clean"]["id"] not in targets and token_hash(drift["foreign"])[-8:] not in targets
    # Nothing changed yet.
    assert await litellm_admin.key_exists(token_hash(drift["revoked_here"]["key"]))
    assert await litellm_admin.key_exists(token_hash(drift["orphan"]))
    assert await litellm_admin.key_exists(token_hash(drift["minted"]))

    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    mine = _mine(report, drift)
    assert mine and all(c["applied"] for c in mine)
    assert report["errors"] == []

    live = {k.token: k for k in await litellm_admin.list_user_keys(drift["uid"])}
    assert set(live) == {token_hash(drift[k]["key"]) for k in ("clean", "extra_model", "renamed", "unrestricted")}
    assert sorted(live[token_hash(drift["unrestricted"]["key"])].allowed_routes) == sorted(KEY_ALLOWED_ROUTES)
    assert (await litellm_admin.user_info(drift["uid"])).user_role == LITELLM_USER_ROLE
    assert live[token_hash(drift["extra_model"]["key"])].models == [CHAT]
    renamed = live[token_hash(drift["renamed"]["key"])]
    assert renamed.key_alias == f"{drift['username']}/renamed" and renamed.rpm_limit == 10
    status = (await drift["user"].call("GET", f"/keys/{drift['gone_there']['id']}", 200)).json()
    assert status["status"] == "revoked" and status["revoked_reason"] == "deleted in LiteLLM"
    with pytest.raises(openai.APIStatusError):
        await chat(sdk(litellm_stack, drift["extra_model"]["key"]), model=GUARD)
    assert (await chat(sdk(litellm_stack, drift["foreign"]))).choices  # not ours: untouched

    again = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert _mine(again, drift) == []

    events = (await admin.call("GET", "/admin/audit", 200, params={"action": "reconcile.", "limit": 200})).json()
    assert {e["action"] for e in events["items"]} >= {"reconcile.key.delete", "reconcile.key.update"}


async def test_reconcile_needs_the_operations_permission(login: Any) -> None:
    for role in ("user", "admin_readonly"):
        who = api(await login(role=role))
        await who.call("POST", "/admin/reconcile", 403)


# Everything reconcile may change here, read straight from the databases (not from its report).
_OURS = {
    "api_keys": "SELECT id, status, token_hash, revoked_at, revoked_reason, alias, rpm_limit FROM api_keys",
    "api_key_tokens": "SELECT * FROM api_key_tokens",
    "api_key_models": "SELECT * FROM api_key_models",
    "subscriptions": "SELECT id, status, updated_at FROM subscriptions",
    "catalog_models": "SELECT id, name, deleted_at, available, litellm_model_ids FROM catalog_models",
    "users": "SELECT id, is_active, litellm_synced_at FROM users",
    "repairs audited": "SELECT id FROM audit_events WHERE action LIKE 'reconcile.%%' OR action IN "
    "('model.sync', 'api_key.revoke', 'subscription.end')",
}
_THEIRS = {
    "keys": 'SELECT token, user_id, models, key_alias, blocked, rpm_limit FROM "LiteLLM_VerificationToken"',
    "users": 'SELECT user_id, user_alias, max_budget FROM "LiteLLM_UserTable"',
    "models": 'SELECT model_id, model_name FROM "LiteLLM_ProxyModelTable"',
}


def _both_sides(backend_database_url: str, litellm_stack: Any) -> dict[str, list[Any]]:
    state = {f"litemaas {name}": sorted(db_rows(backend_database_url, q), key=str) for name, q in _OURS.items()}
    with litellm_stack.db() as conn:
        for name, query in _THEIRS.items():
            state[f"litellm {name}"] = sorted(conn.execute(query).fetchall(), key=str)
    return state


async def test_reconcile_with_litellm_down_changes_nothing(
    login: Any, litellm_stack: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    # Drift of every kind reconcile repairs, and a user whose LiteLLM user was never created:
    # a run that took "unreachable" for "nothing there" would revoke, delete or create something.
    drift = await _make_drift(login, litellm_admin, backend_database_url)
    transport.cut()
    unsynced = await api(await login()).me()
    transport.restore()
    admin = api(await login(role="admin"))
    before = _both_sides(backend_database_url, litellm_stack)
    synced_at = "SELECT litellm_synced_at FROM users WHERE id = %s"
    assert db_rows(backend_database_url, synced_at, unsynced["user_id"]) == [(None,)]

    transport.cut()
    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    transport.restore()

    assert report["errors"] and not any(c["applied"] for c in report["changes"])
    after = _both_sides(backend_database_url, litellm_stack)
    assert {name for name in before if before[name] != after[name]} == set()

    # The drift was real: with LiteLLM back, the same run repairs it on both sides.
    repaired = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert {c["kind"] for c in _mine(repaired, drift) if c["applied"]} >= {
        "key.delete_in_litellm",
        "key.mark_revoked",
        "key.update_in_litellm",
    }
    assert db_rows(backend_database_url, synced_at, unsynced["user_id"]) != [(None,)]
    assert (await litellm_admin.user_info(unsynced["user_id"])).user_id == unsynced["user_id"]
    assert not await litellm_admin.key_exists(token_hash(drift["orphan"]))
    gone = db_rows(backend_database_url, "SELECT status FROM api_keys WHERE id = %s", drift["gone_there"]["id"])
    assert gone == [("revoked",)]


async def test_reconcile_keeps_blocked_state_in_step_with_the_owner(
    login: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    user = api(await login())
    await user.subscribe(CHAT)
    key = await user.create_key([CHAT])
    hashed = token_hash(key["key"])
    admin = api(await login(role="admin"))

    await litellm_admin.block_key(hashed)  # blocked behind our back while the owner is active
    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    change = next(c for c in report["changes"] if key["id"] in c["target"])
    assert "blocked → False" in change["detail"] and change["applied"]
    assert (await chat(sdk(litellm_stack, key["key"]))).choices

    # The owner is deactivated: keys are blocked, and reconcile keeps them blocked.
    me = await user.me()
    await admin.call("PUT", f"/admin/users/{me['user_id']}/active", 200, json={"is_active": False})
    assert (await litellm_admin.key_info(hashed)).blocked is True
    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert not [c for c in report["changes"] if key["id"] in c["target"]]
    await litellm_admin.unblock_key(hashed)
    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    change = next(c for c in report["changes"] if key["id"] in c["target"])
    assert "blocked → True" in change["detail"]
    with pytest.raises(openai.APIStatusError):
        await chat(sdk(litellm_stack, key["key"]))
