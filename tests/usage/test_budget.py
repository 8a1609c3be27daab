"""The budget view: spend against budget per key and for the user, live from LiteLLM."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.support.stack import CHAT, api, chat, sdk


async def test_budget_view_shows_spend_against_key_and_user_budgets(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    user = api(await login())
    me = await user.me()
    await user.subscribe(CHAT)
    await admin.call(
        "PUT", f"/admin/users/{me['user_id']}/limits", 200, json={"max_budget": 10, "budget_duration": "30d"}
    )
    key = await user.create_key([CHAT], alias="budgeted", max_budget=2.5)
    await user.create_key([CHAT], alias="unbudgeted")
    await chat(sdk(litellm_stack, key["key"]))

    deadline = time.monotonic() + 60
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        view = (await user.call("GET", "/usage/budget", 200)).json()
        spent = {k["alias"]: k["spend"] for k in view["keys"]}
        if spent.get("budgeted") and view["user"]["spend"]:
            break
        await asyncio.sleep(1)
    assert view["live"] is True
    keys = {k["alias"]: k for k in view["keys"]}
    assert set(keys) == {"budgeted", "unbudgeted"}
    budgeted = keys["budgeted"]
    assert budgeted["max_budget"] == 2.5 and budgeted["spend"] > 0
    assert budgeted["budget_remaining"] == pytest.approx(2.5 - budgeted["spend"])
    assert keys["unbudgeted"]["max_budget"] is None and keys["unbudgeted"]["spend"] == 0
    assert (view["user"]["max_budget"], view["user"]["budget_duration"]) == (10, "30d")
    assert view["user"]["budget_remaining"] == pytest.approx(10 - view["user"]["spend"])

    seen_by_admin = (await admin.call("GET", f"/admin/usage/budget/{me['user_id']}", 200)).json()
    assert {k["key_id"] for k in seen_by_admin["keys"]} == {k["key_id"] for k in view["keys"]}
    reader = api(await login(role="admin_readonly"))
    await reader.call("GET", f"/admin/usage/budget/{me['user_id']}", 200)
    await user.call("GET", f"/admin/usage/budget/{me['user_id']}", 403)
