"""History survives key rotation, revocation and model deletion; foreign keys show as such."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.stack import CHAT, api, chat, new_model, sdk, token_hash
from tests.usage.support import wait_for_litellm

pytestmark = pytest.mark.asyncio


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


async def test_rotated_then_revoked_key_of_a_deleted_model_keeps_owner_alias_and_model(
    login: Any, litellm_stack: Any
) -> None:
    admin = api(await login(role="admin"))
    user = api(await login())
    me = await user.me()
    model = await new_model(admin, litellm_stack, prefix="usage-history")
    await user.subscribe(model)
    created = await user.create_key([model], alias="rotating")
    first = created["key"]
    await chat(sdk(litellm_stack, first), model=model)
    rotated = (await user.call("POST", f"/keys/{created['id']}/rotate", 200)).json()
    second = rotated["key"]
    assert token_hash(second) != token_hash(first)
    await chat(sdk(litellm_stack, second), model=model, text="after rotation")
    await chat(sdk(litellm_stack, second), model=model, text="once more")
    wait_for_litellm(litellm_stack.litellm_database_url, [token_hash(first), token_hash(second)], 3)
    await user.call("POST", f"/keys/{created['id']}/revoke", 200)
    await admin.call("DELETE", f"/admin/models/{model}", 200)

    await admin.call("POST", "/admin/usage/refresh", 200)
    day = _today()
    body = {"start_date": day, "end_date": day, "users": [me["user_id"]]}
    result = (await admin.call("POST", "/admin/usage/analytics", 200, json=body)).json()

    [key_row] = result["by_key"]["items"]
    assert key_row["key"] == created["id"]
    assert (key_row["alias"], key_row["status"], key_row["username"]) == ("rotating", "revoked", me["username"])
    assert key_row["requests"] == 3
    [model_row] = result["by_model"]["items"]
    assert (model_row["model"], model_row["deleted"], model_row["requests"]) == (model, True, 3)
    own = (await user.call("POST", "/usage/analytics", 200, json={"start_date": day, "end_date": day})).json()
    assert own["totals"]["requests"] == 3 and own["by_key"]["items"][0]["alias"] == "rotating"

    options = (await admin.call("GET", "/admin/usage/filters", 200, params={"start_date": day, "end_date": day})).json()
    assert {"model": model, "display_name": f"Test model {model}", "deleted": True} in options["models"]
    assert any(k["key_id"] == created["id"] and k["status"] == "revoked" for k in options["keys"])
    # The deleted model and the revoked key still filter.
    by_model = (
        await admin.call(
            "POST", "/admin/usage/analytics", 200, json={**body, "models": [model], "keys": [created["id"]]}
        )
    ).json()
    assert by_model["totals"]["requests"] == 3


async def test_a_key_made_at_the_proxy_shows_as_external_never_as_the_user_it_names(
    login: Any, litellm_stack: Any
) -> None:
    admin = api(await login(role="admin"))
    user = api(await login())
    me = await user.me()
    await user.subscribe(CHAT)
    ours = await user.create_key([CHAT])
    # Minted directly with the master key, naming the user's LiteLLM id: not issued by LiteMaaS.
    foreign = litellm_stack.generate_key(models=[CHAT], user_id=me["user_id"])
    await chat(sdk(litellm_stack, ours["key"]))
    await chat(sdk(litellm_stack, foreign["key"]), text="from a foreign key")
    await chat(sdk(litellm_stack, foreign["key"]), text="from a foreign key again")
    wait_for_litellm(litellm_stack.litellm_database_url, [token_hash(ours["key"]), foreign["token"]], 3)
    await admin.call("POST", "/admin/usage/refresh", 200)
    day = _today()

    own = (await user.call("POST", "/usage/analytics", 200, json={"start_date": day, "end_date": day})).json()
    assert own["totals"]["requests"] == 1
    assert [k["key"] for k in own["by_key"]["items"]] == [ours["id"]]

    result = (
        await admin.call("POST", "/admin/usage/analytics", 200, json={"start_date": day, "end_date": day, "limit": 500})
    ).json()
    external_ref = "external:" + foreign["token"][:16]
    external = next(k for k in result["by_key"]["items"] if k["key"] == external_ref)
    assert (external["status"], external["key_id"], external["user_id"], external["requests"]) == (
        "external",
        None,
        None,
        2,
    )
    assert external["litellm_user_id"] == me["user_id"]
    assert foreign["token"] not in str(result)
    assert any(u["external"] and u["litellm_user_id"] == me["user_id"] for u in result["by_user"]["items"])
    mine = next(u for u in result["by_user"]["items"] if u["user_id"] == me["user_id"])
    assert mine["requests"] == 1
    only_external = (
        await admin.call(
            "POST", "/admin/usage/analytics", 200, json={"start_date": day, "end_date": day, "keys": [external_ref]}
        )
    ).json()
    assert only_external["totals"]["requests"] == 2
