"""Model catalog: mirror of LiteLLM's models, public views, admin changes and their cascades."""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest

from tests.support.stack import CHAT, CODE, DOCLING, EMBED, GUARD, api, chat, db_rows, new_model, sdk, token_hash

pytestmark = pytest.mark.asyncio

DEMO = {CHAT, "llama-scout-17b", "granite-4-0-h-tiny", CODE, EMBED, DOCLING, GUARD}


async def test_catalog_mirrors_the_demo_models(login: Any) -> None:
    user = api(await login())
    models = {m["name"]: m for m in (await user.call("GET", "/models", 200)).json()}
    assert set(models) >= DEMO

    granite = models[CHAT]
    assert granite["display_name"] == "Granite 3.2 8B Instruct"
    assert granite["provider"] == "IBM"
    assert granite["primary_capability"] == "chat"
    assert [c["name"] for c in granite["capabilities"]] == ["chat", "tokenize", "function_calling"]
    assert granite["capabilities"][0] == {"name": "chat", "label": "Chat", "color": "#0066cc", "primary": True}
    assert granite["pricing"]["input_per_million_tokens"] == pytest.approx(0.2)
    assert granite["pricing"]["output_per_million_tokens"] == pytest.approx(0.6)
    assert granite["context_length"] == 131072
    assert granite["restricted"] is False and granite["available"] is True

    assert models[EMBED]["primary_capability"] == "embeddings"
    assert models[GUARD]["primary_capability"] == "safety"
    assert models[GUARD]["restricted"] is True
    docling = models[DOCLING]
    assert docling["primary_capability"] == "document_conversion"
    # Document conversion is priced per page: no token prices or token limits shown.
    assert docling["pricing"]["input_per_million_tokens"] is None
    assert docling["pricing"]["per_page"] == pytest.approx(0.001)
    assert docling["context_length"] is None
    assert "vision" in [c["name"] for c in models["llama-scout-17b"]["capabilities"]]

    only_embeddings = (await user.call("GET", "/models", 200, params={"capability": "embeddings"})).json()
    assert {m["name"] for m in only_embeddings} >= {EMBED} and CHAT not in {m["name"] for m in only_embeddings}

    detail = (await user.call("GET", f"/models/{GUARD}", 200)).json()
    assert detail["name"] == GUARD and detail["restricted"] is True
    by_id = (await user.call("GET", f"/models/{detail['id']}", 200)).json()
    assert by_id["name"] == GUARD
    missing = await user.call("GET", "/models/no-such-model", 404)
    assert missing.json()["error"] == "not_found"


async def test_anonymous_cannot_browse_and_users_cannot_administer(client: Any, login: Any) -> None:
    assert (await client.get("/api/v1/models")).status_code == 401
    user = api(await login())
    readonly = api(await login(role="admin_readonly"))
    for who in (user, readonly):
        await who.call("POST", "/admin/models/sync", 403)
        await who.call("POST", "/admin/models", 403, json={"name": "x", "litellm_params": {"model": "a/b"}})
        await who.call("PATCH", f"/admin/models/{CHAT}", 403, json={"restricted": True})
        await who.call("DELETE", f"/admin/models/{CHAT}", 403)
    await user.call("GET", "/admin/models", 403)
    listed = (await readonly.call("GET", "/admin/models", 200)).json()
    assert any(m["name"] == CHAT and m["editable_in_litellm"] is False for m in listed)


async def test_sync_is_idempotent(login: Any) -> None:
    admin = api(await login(role="admin"))
    result = (await admin.call("POST", "/admin/models/sync", 200)).json()
    assert result["added"] == [] and result["removed"] == []
    dry = (await admin.call("POST", "/admin/models/sync", 200, params={"dry_run": "true"})).json()
    assert dry["dry_run"] is True and dry["added"] == [] and dry["removed"] == []


async def test_admin_creates_updates_and_deletes_a_model(login: Any, litellm_stack: Any, litellm_admin: Any) -> None:
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack)
    detail = (await admin.call("GET", f"/admin/models/{name}", 200)).json()
    assert detail["editable_in_litellm"] is True and detail["litellm_model_ids"]
    assert detail["pricing"]["input_per_million_tokens"] == pytest.approx(0.2)
    served = {d.model_name: d for d in await litellm_admin.model_info()}
    assert served[name].model_info["capabilities"] == ["chat", "tokenize"]
    assert served[name].litellm_params.get("input_cost_per_token") == pytest.approx(0.2e-6)

    await admin.call("POST", "/admin/models", 409, json={"name": name, "litellm_params": {"model": "a/b"}})

    updated = (
        await admin.call(
            "PATCH",
            f"/admin/models/{name}",
            200,
            json={"display_name": "Renamed", "description": "new words", "output_price_per_million": 1.5},
        )
    ).json()
    assert updated["display_name"] == "Renamed"
    assert updated["pricing"]["output_per_million_tokens"] == pytest.approx(1.5)
    served = {d.model_name: d for d in await litellm_admin.model_info()}
    assert served[name].litellm_params.get("output_cost_per_token") == pytest.approx(1.5e-6)
    # Sync does not undo admin metadata.
    await admin.call("POST", "/admin/models/sync", 200)
    assert (await admin.call("GET", f"/admin/models/{name}", 200)).json()["display_name"] == "Renamed"

    deleted = (await admin.call("DELETE", f"/admin/models/{name}", 200)).json()
    assert deleted["deleted_at"] is not None and deleted["available"] is False
    assert name not in {d.model_name for d in await litellm_admin.model_info()}
    user = api(await login())
    assert name not in {m["name"] for m in (await user.call("GET", "/models", 200)).json()}
    await user.call("GET", f"/models/{name}", 404)


async def test_config_models_only_take_catalog_metadata(login: Any) -> None:
    admin = api(await login(role="admin"))
    conflict = await admin.call("PATCH", f"/admin/models/{CODE}", 409, json={"input_price_per_million": 9.0})
    assert conflict.json()["field"] == "input_price_per_million"
    ok = (await admin.call("PATCH", f"/admin/models/{CODE}", 200, json={"description": "Code helper"})).json()
    assert ok["description"] == "Code helper"
    bad = await admin.call(
        "POST",
        "/admin/models",
        400,
        json={"name": f"x-{uuid.uuid4().hex[:6]}", "litellm_params": {"model": "a/b"}, "capabilities": ["telepathy"]},
    )
    assert bad.json()["field"] == "capabilities"


async def test_restricting_a_model_suspends_subscriptions_and_strips_keys(
    login: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack)
    user = api(await login())
    sub = await user.subscribe(name)
    assert sub["status"] == "active"
    await user.subscribe(CHAT, expect=None)
    key = await user.create_key([name, CHAT])
    client = sdk(litellm_stack, key["key"])
    assert (await chat(client, model=name)).choices

    await admin.call("PATCH", f"/admin/models/{name}", 200, json={"restricted": True})
    mine = {s["model"]["name"]: s for s in (await user.call("GET", "/subscriptions", 200)).json()}
    assert mine[name]["status"] == "pending"
    assert mine[name]["model"]["restricted"] is True
    info = await litellm_admin.key_info(token_hash(key["key"]))
    assert name not in info.models and CHAT in info.models
    with pytest.raises(openai.APIStatusError):
        await chat(client, model=name)
    assert (await chat(client, model=CHAT)).choices  # other models unaffected

    history = (await user.call("GET", f"/subscriptions/{sub['id']}/history", 200)).json()
    assert [h["action"] for h in history] == ["subscribe", "model_restricted"]

    await admin.decide(sub["id"], "approve")
    assert (await chat(client, model=name)).choices


async def test_deleting_a_model_ends_subscriptions_and_strips_keys(
    login: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack)
    user = api(await login())
    sub = await user.subscribe(name)
    await user.subscribe(CHAT, expect=None)
    key = await user.create_key([name, CHAT])

    await admin.call("DELETE", f"/admin/models/{name}", 200, params={"reason": "decommissioned"})
    ended = (await user.call("GET", f"/subscriptions/{sub['id']}", 200)).json()
    assert ended["status"] == "cancelled" and ended["status_reason"] == "decommissioned"
    listed = (await user.call("GET", "/keys", 200)).json()["items"]
    mine = next(k for k in listed if k["id"] == key["id"])
    assert mine["effective_models"] == [CHAT]
    info = await litellm_admin.key_info(token_hash(key["key"]))
    assert info.models == [CHAT]
    # Resubscribing to a deleted model is impossible.
    await user.subscribe(name, expect=404)


async def test_sync_never_resurrects_a_deleted_model(login: Any, litellm_stack: Any, litellm_admin: Any) -> None:
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack)
    user = api(await login())
    sub = await user.subscribe(name)

    # Deleted in LiteLLM behind our back: the next sync ends it here.
    served = {d.model_name: d for d in await litellm_admin.model_info()}
    deployment_id = served[name].deployment_id
    response = litellm_stack.admin.post("/model/delete", json={"id": deployment_id})
    assert response.status_code == 200, response.text
    result = (await admin.call("POST", "/admin/models/sync", 200)).json()
    assert result["removed"] == [name] and result["subscriptions_ended"] >= 1
    assert (await user.call("GET", f"/subscriptions/{sub['id']}", 200)).json()["status"] == "cancelled"

    # Someone re-adds the name in LiteLLM: sync keeps our deletion (no resurrection) ...
    response = litellm_stack.admin.post(
        "/model/new",
        json={
            "model_name": name,
            "litellm_params": {"model": "hosted_vllm/x/y", "api_base": f"{litellm_stack.simulator_url}/v1"},
            "model_info": {"capabilities": ["chat"]},
        },
    )
    assert response.status_code == 200, response.text
    for _ in range(2):
        result = (await admin.call("POST", "/admin/models/sync", 200)).json()
        assert name in result["ignored_deleted"] and name not in result["added"]
    assert name not in {m["name"] for m in (await user.call("GET", "/models", 200)).json()}

    # ... until an admin restores it explicitly; the old subscription stays ended.
    restored = (await admin.call("POST", f"/admin/models/{name}/restore", 200)).json()
    assert restored["available"] is True and restored["deleted_at"] is None
    assert (await user.call("GET", f"/subscriptions/{sub['id']}", 200)).json()["status"] == "cancelled"
    await admin.call("DELETE", f"/admin/models/{name}", 200)


async def test_model_changes_are_audited(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    name = await new_model(admin, litellm_stack)
    await admin.call("PATCH", f"/admin/models/{name}", 200, json={"restricted": True})
    await admin.call("DELETE", f"/admin/models/{name}", 200)
    events = (await admin.call("GET", "/admin/audit", 200, params={"action": "model.", "limit": 200})).json()
    items = events["items"] if isinstance(events, dict) else events
    actions = {e["action"] for e in items if e.get("target_id") and e["after"] and e["after"].get("name") == name}
    assert {"model.create", "model.update", "model.delete"} <= actions


def _model_body(litellm_stack: Any, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "litellm_params": {
            "model": "hosted_vllm/ibm-granite/granite-3.2-8b-instruct",
            "api_base": f"{litellm_stack.simulator_url}/v1",
        },
        "display_name": f"Outage {name}",
        "capabilities": ["chat"],
        "restricted": True,
    }


async def test_model_create_under_an_outage_leaves_no_half_model(
    login: Any, litellm_stack: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    admin = api(await login(role="admin"))
    name = f"test-outage-{uuid.uuid4().hex[:8]}"
    transport.cut()
    down = await admin.call("POST", "/admin/models", 503, json=_model_body(litellm_stack, name))
    transport.restore()
    assert down.json()["error"] == "upstream_unavailable"
    assert db_rows(backend_database_url, "SELECT id FROM catalog_models WHERE name = %s", name) == []
    assert name not in {d.model_name for d in await litellm_admin.model_info()}


async def test_model_create_with_the_answer_lost_is_adopted_by_reconcile_still_restricted(
    login: Any, litellm_stack: Any, litellm_admin: Any, transport: Any, backend_database_url: str
) -> None:
    admin = api(await login(role="admin"))
    name = f"test-lost-{uuid.uuid4().hex[:8]}"
    body = _model_body(litellm_stack, name)
    # LiteLLM creates the deployment; its answer never arrives, so nothing is recorded here.
    transport.lose_response_of("/model/new")
    await admin.call("POST", "/admin/models", 503, json=body)
    assert db_rows(backend_database_url, "SELECT id FROM catalog_models WHERE name = %s", name) == []
    assert name in {d.model_name for d in await litellm_admin.model_info()}
    # Creating it again is refused (LiteLLM serves the name), so the repair is reconcile's.
    await admin.call("POST", "/admin/models", 409, json=body)

    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert ("model.added", name, True) in {(c["kind"], c["target"], c["applied"]) for c in report["changes"]}
    rows = db_rows(
        backend_database_url,
        "SELECT restricted, display_name, capabilities, deleted_at FROM catalog_models WHERE name = %s",
        name,
    )
    assert rows == [(True, f"Outage {name}", ["chat"], None)]
    # The restriction LiteLLM recorded holds: subscribing waits for an approval.
    user = api(await login())
    assert (await user.subscribe(name))["status"] == "pending"
