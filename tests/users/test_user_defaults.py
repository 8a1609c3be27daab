"""Defaults for new users: applied at first login in LiteLLM (read back from /user/info) and in our
row; a change of defaults leaves existing users alone until an admin applies them to all."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from litemaas.litellm_admin import LiteLLMAdminClient
from tests.support.stack import CuttableTransport, api, db_rows

pytestmark = pytest.mark.asyncio

LIMITS = ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")


@pytest_asyncio.fixture
async def admin(login: Any) -> AsyncIterator[Any]:
    """An admin; the defaults are put back as they were after the test (one database per session)."""
    client = api(await login(role="admin"))
    before = (await client.call("GET", "/admin/settings/user-defaults", 200)).json()
    yield client
    await client.call("PUT", "/admin/settings/user-defaults", 200, json=before)


async def _user_id(client: Any) -> str:
    me: dict[str, Any] = (await client.call("GET", "/auth/me", 200)).json()
    return str(me["user_id"])


async def _litellm_limits(litellm: LiteLLMAdminClient, user_id: str) -> dict[str, Any]:
    info = await litellm.user_info(user_id)
    return {name: getattr(info, name) for name in LIMITS}


async def test_built_in_defaults_are_the_documented_ones(admin: Any) -> None:
    # Until an admin stores other values: RHDP-sized limits, no per-user key cap.
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json={})
    assert (await admin.call("GET", "/admin/settings/user-defaults", 200)).json() == {
        "max_budget": 2000.0,
        "budget_duration": "30d",
        "tpm_limit": 400000,
        "rpm_limit": 500,
        "max_active_keys": None,
    }


async def test_first_login_carries_the_defaults_in_litellm_and_ours(
    admin: Any, login: Any, litellm_admin: LiteLLMAdminClient
) -> None:
    wanted = {"max_budget": 123.5, "budget_duration": "7d", "tpm_limit": 4321, "rpm_limit": 77, "max_active_keys": 3}
    assert (await admin.call("PUT", "/admin/settings/user-defaults", 200, json=wanted)).json() == wanted
    newcomer = api(await login())
    user_id = await _user_id(newcomer)
    assert await _litellm_limits(litellm_admin, user_id) == {k: wanted[k] for k in LIMITS}
    ours = (await admin.call("GET", f"/admin/users/{user_id}/limits", 200)).json()
    assert {k: ours[k] for k in wanted} == wanted
    # The key cap from the defaults applies to the user's keys.
    assert (await newcomer.call("GET", "/keys/limits", 200)).json()["max_active_keys"] == 3
    events = (await admin.call("GET", "/admin/audit", 200, params={"action": "settings.user_defaults.update"})).json()[
        "items"
    ]
    assert events and events[0]["after"]["tpm_limit"] == 4321


async def test_a_change_of_defaults_does_not_rewrite_existing_users_until_applied(
    admin: Any, login: Any, litellm_admin: LiteLLMAdminClient
) -> None:
    first = {"max_budget": 10.0, "budget_duration": "30d", "tpm_limit": 1000, "rpm_limit": 10, "max_active_keys": None}
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json=first)
    existing = await _user_id(api(await login()))
    second = {"max_budget": 20.0, "budget_duration": "1d", "tpm_limit": 2000, "rpm_limit": 20, "max_active_keys": 5}
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json=second)
    later = await _user_id(api(await login()))

    assert await _litellm_limits(litellm_admin, existing) == {k: first[k] for k in LIMITS}
    assert (await admin.call("GET", f"/admin/users/{existing}/limits", 200)).json()["tpm_limit"] == 1000
    assert await _litellm_limits(litellm_admin, later) == {k: second[k] for k in LIMITS}

    refused = await admin.call("POST", "/admin/users/apply-defaults", 400, json={})
    assert refused.json()["field"] == "confirm"
    assert await _litellm_limits(litellm_admin, existing) == {k: first[k] for k in LIMITS}

    applied = (await admin.call("POST", "/admin/users/apply-defaults", 200, json={"confirm": True})).json()
    assert applied["completed"] is True and applied["failed"] == 0
    by_id = {r["user_id"]: r["status"] for r in applied["results"]}
    assert by_id[existing] == "applied" and by_id[later] == "unchanged"
    assert await _litellm_limits(litellm_admin, existing) == {k: second[k] for k in LIMITS}
    ours = (await admin.call("GET", f"/admin/users/{existing}/limits", 200)).json()
    assert {k: ours[k] for k in second} == second

    # Idempotent: a second run changes nobody.
    again = (await admin.call("POST", "/admin/users/apply-defaults", 200, json={"confirm": True})).json()
    assert again["applied"] == 0 and again["unchanged"] == len(again["results"]) > 0


async def test_apply_during_an_outage_is_503_and_changes_nothing(
    admin: Any, login: Any, transport: CuttableTransport, litellm_admin: LiteLLMAdminClient, settings: Any
) -> None:
    first = {"max_budget": 30.0, "budget_duration": "30d", "tpm_limit": 3000, "rpm_limit": 30, "max_active_keys": None}
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json=first)
    user_id = await _user_id(api(await login()))
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json={**first, "tpm_limit": 6000})
    transport.cut()
    try:
        response = await admin.call("POST", "/admin/users/apply-defaults", 503, json={"confirm": True})
    finally:
        transport.restore()
    assert response.json()["error"] == "upstream_unavailable"
    assert (await _litellm_limits(litellm_admin, user_id))["tpm_limit"] == 3000
    rows = db_rows(settings.database_url, "SELECT tpm_limit FROM user_limits WHERE user_id = %s", uuid.UUID(user_id))
    assert rows == [(3000,)]


async def test_apply_cut_part_way_leaves_no_user_half_done(
    admin: Any, login: Any, transport: CuttableTransport, litellm_admin: LiteLLMAdminClient, settings: Any
) -> None:
    base = {"max_budget": 40.0, "budget_duration": "30d", "tpm_limit": 4000, "rpm_limit": 40, "max_active_keys": None}
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json=base)
    for _ in range(3):
        await login()
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json={**base, "rpm_limit": 41})
    transport.cut_after("/user/update", times=2)
    try:
        out = (await admin.call("POST", "/admin/users/apply-defaults", 200, json={"confirm": True})).json()
    finally:
        transport.restore()
    assert out["completed"] is False and out["failed"] >= 1
    # Every user is whole: LiteLLM and our row agree, with the new value or with the old one.
    stored = dict(db_rows(settings.database_url, "SELECT user_id::text, rpm_limit FROM user_limits"))
    for result in out["results"]:
        live = (await litellm_admin.user_info(result["user_id"])).rpm_limit
        assert stored.get(result["user_id"]) == live, result
        if result["status"] == "failed":
            assert result["error"] == "upstream_unavailable"


async def test_readonly_admin_and_users_are_refused(login: Any, admin: Any) -> None:
    # The session's database is shared: store what the read-only admin should read back.
    await admin.call("PUT", "/admin/settings/user-defaults", 200, json={"rpm_limit": 42})
    readonly = api(await login(role="admin_readonly"))
    assert (await readonly.call("GET", "/admin/settings/user-defaults", 200)).json()["rpm_limit"] == 42
    await readonly.call("PUT", "/admin/settings/user-defaults", 403, json={"rpm_limit": 1})
    await readonly.call("POST", "/admin/users/apply-defaults", 403, json={"confirm": True})
    user = api(await login())
    await user.call("GET", "/admin/settings/user-defaults", 403)


async def test_bad_defaults_are_400_naming_the_field(admin: Any) -> None:
    for body, field in (
        ({"rpm_limit": 0}, "rpm_limit"),
        ({"budget_duration": "soon"}, "budget_duration"),
        ({"max_budget": -1}, "max_budget"),
        ({"max_active_keys": 5000}, "max_active_keys"),
        ({"colour": "red"}, "colour"),
    ):
        response = await admin.call("PUT", "/admin/settings/user-defaults", None, json=body)
        assert response.status_code in (400, 422), response.text
        assert field in response.text
