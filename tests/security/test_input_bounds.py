"""Input at the edges: NUL bytes, numbers beyond the columns, dates at the end of the calendar.

Each of these used to end in a 500 (PostgreSQL refusing the value). They must be a 4xx naming
the field, and nothing may be stored beyond a column's range.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.backend import browser
from tests.support.stack import CHAT, api, db_rows

pytestmark = pytest.mark.asyncio

INT32_MAX = 2**31 - 1


@pytest_asyncio.fixture
async def admin(login: Any) -> AsyncIterator[Any]:
    """An admin client; API key settings changed by a test are put back afterwards."""
    client = api(await login(role="admin"))
    before = (await client.call("GET", "/admin/settings/api-keys", 200)).json()
    yield client
    await client.call("PUT", "/admin/settings/api-keys", 200, json=before)


async def _subscribed_user(login: Any) -> Any:
    user = api(await login())
    await user.subscribe(CHAT)
    return user


def _names(body: dict[str, Any], field: str) -> None:
    assert body.get("field") == field, body
    assert field.rsplit(".", maxsplit=1)[-1] in body["detail"], body


# --------------------------------------------------------------------------- NUL bytes


@pytest.mark.parametrize(
    "path, param",
    [
        ("/admin/users", "search"),
        ("/admin/audit", "actor"),
        ("/admin/audit", "action"),
        ("/admin/subscriptions", "model"),
        ("/admin/subscriptions", "user"),
        ("/admin/models", "search"),
    ],
)
async def test_nul_in_a_text_filter_is_a_400_naming_it(login: Any, path: str, param: str) -> None:
    admin = api(await login(role="admin"))
    response = await admin.call("GET", path, 400, params={param: "ab\x00cd"})
    body = response.json()
    assert body["error"] == "bad_request"
    _names(body, param)


async def test_nul_in_a_path_parameter_is_a_400(login: Any) -> None:
    user = api(await login())
    response = await user.call("GET", "/models/gran%00ite", 400)
    _names(response.json(), "model_ref")


async def test_nul_in_a_json_field_is_a_400_naming_it(login: Any) -> None:
    user = await _subscribed_user(login)
    subscribe = await user.call("POST", "/subscriptions", 400, json={"model": "gran\u0000ite"})
    _names(subscribe.json(), "model")
    key = await user.call("POST", "/keys", 400, json={"alias": "a\u0000b", "models": [CHAT]})
    _names(key.json(), "alias")
    nested = await user.call("POST", "/keys", 400, json={"alias": "ok", "models": [CHAT, "x\u0000"]})
    _names(nested.json(), "models.1")
    # Nothing was created by the refused requests.
    assert (await user.call("GET", "/keys", 200)).json()["items"] == []


async def test_nul_in_a_json_key_is_a_400(login: Any) -> None:
    admin = api(await login(role="admin"))
    response = await admin.call(
        "POST",
        "/admin/models",
        400,
        json={"name": "nul-params", "litellm_params": {"model": "hosted_vllm/x", "api\u0000base": "http://h"}},
    )
    assert response.json()["field"].startswith("litellm_params")


async def test_nul_in_a_form_field_is_a_400(client: Any) -> None:
    response = await client.post("/auth/dev", data={"username": "nul\x00user", "role": "user"})
    assert response.status_code == 400, response.text
    _names(response.json(), "username")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("offset", [2**70, 2**63, 2**31])
async def test_offset_beyond_64_bit_is_a_4xx(login: Any, offset: int) -> None:
    admin = api(await login(role="admin"))
    for path in ("/admin/users", "/admin/audit", "/admin/subscriptions", "/admin/keys"):
        response = await admin.call("GET", path, params={"offset": str(offset)})
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert response.json()["field"] == "offset"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rpm_limit": INT32_MAX + 1}, "rpm_limit"),
        ({"tpm_limit": 10**12}, "tpm_limit"),
        ({"tpm_limit": 1e12}, "tpm_limit"),
        ({"max_parallel_requests": 2**40}, "max_parallel_requests"),
        ({"max_budget": 1e300}, "max_budget"),
        ({"soft_budget": 1e300}, "soft_budget"),
    ],
)
async def test_key_limits_beyond_the_columns_are_refused_naming_the_field(
    login: Any, body: dict[str, Any], field: str, backend_database_url: str
) -> None:
    user = await _subscribed_user(login)
    response = await user.call("POST", "/keys", None, json={"alias": "huge", "models": [CHAT], **body})
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field
    me = await user.me()
    assert db_rows(backend_database_url, "SELECT id FROM api_keys WHERE user_id = %s", me["user_id"]) == []


async def test_key_limits_at_the_column_edge_are_accepted(login: Any, litellm_admin: Any) -> None:
    from litemaas.litellm_admin import token_hash

    user = await _subscribed_user(login)
    created = await user.create_key([CHAT], rpm_limit=INT32_MAX, tpm_limit=INT32_MAX)
    assert (created["rpm_limit"], created["tpm_limit"]) == (INT32_MAX, INT32_MAX)
    info = await litellm_admin.key_info(token_hash(created["key"]))
    assert (info.rpm_limit, info.tpm_limit) == (INT32_MAX, INT32_MAX)


async def test_key_update_beyond_the_columns_is_refused(login: Any) -> None:
    user = await _subscribed_user(login)
    key = await user.create_key([CHAT])
    response = await user.call("PATCH", f"/keys/{key['id']}", None, json={"rpm_limit": INT32_MAX + 1})
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == "rpm_limit"


async def test_user_limits_beyond_the_columns_are_refused(login: Any) -> None:
    admin = api(await login(role="admin"))
    target = await api(await login()).me()
    for body, field in (({"tpm_limit": 10**12}, "tpm_limit"), ({"rpm_limit": INT32_MAX + 1}, "rpm_limit")):
        response = await admin.call("PUT", f"/admin/users/{target['user_id']}/limits", None, json=body)
        assert response.status_code in (400, 422), response.text
        assert response.json()["field"] == field


@pytest.mark.parametrize(
    "document, field",
    [
        ({"defaults": {"rpm_limit": INT32_MAX + 1}}, "defaults.rpm_limit"),
        ({"defaults": {"tpm_limit": 10**12}}, "defaults.tpm_limit"),
        ({"maximums": {"max_parallel_requests": 2**40}}, "maximums.max_parallel_requests"),
        ({"defaults": {"max_budget": 1e300}}, "defaults.max_budget"),
        ({"defaults": {"budget_duration": "999999mo"}}, "defaults.budget_duration"),
        # A default soft budget above the budget every key gets would refuse every key as well.
        ({"defaults": {"soft_budget": 10}, "maximums": {"max_budget": 5}}, "defaults.soft_budget"),
    ],
)
async def test_admin_defaults_beyond_the_columns_are_refused_and_keys_still_work(
    login: Any, admin: Any, document: dict[str, Any], field: str
) -> None:
    response = await admin.call("PUT", "/admin/settings/api-keys", None, json=document)
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field
    # Nothing was stored: key creation (which applies the defaults) still works.
    user = await _subscribed_user(login)
    await user.create_key([CHAT])


async def test_stored_settings_beyond_the_bounds_fall_back_to_unset(
    login: Any, admin: Any, backend_database_url: str
) -> None:
    """A document an older release stored with out-of-range values does not break key creation."""
    import json

    import psycopg

    from tests.support.stack import _sync_url

    document = {"defaults": {"rpm_limit": INT32_MAX + 1, "tpm_limit": 100}, "max_active_keys_per_user": 10**6}
    with psycopg.connect(_sync_url(backend_database_url)) as conn:
        conn.execute(
            "INSERT INTO admin_settings (name, value) VALUES ('api_keys', %s::jsonb) "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            (json.dumps(document),),
        )
    settings = (await admin.call("GET", "/admin/settings/api-keys", 200)).json()
    assert settings["defaults"]["rpm_limit"] is None and settings["defaults"]["tpm_limit"] == 100
    assert settings["max_active_keys_per_user"] == 10
    key = await (await _subscribed_user(login)).create_key([CHAT])
    assert (key["rpm_limit"], key["tpm_limit"]) == (None, 100)


@pytest.mark.parametrize(
    "body, field", [({"duration": "999999mo"}, "duration"), ({"budget_duration": "6000w"}, "budget_duration")]
)
async def test_durations_beyond_a_century_are_refused(login: Any, body: dict[str, Any], field: str) -> None:
    user = await _subscribed_user(login)
    refused = await user.create_key([CHAT], expect=400, **body)
    assert refused["field"] == field


async def test_padded_budget_duration_is_stored_trimmed(login: Any, litellm_admin: Any) -> None:
    from litemaas.litellm_admin import token_hash

    user = await _subscribed_user(login)
    created = await user.create_key([CHAT], budget_duration="   30d" + " " * 20)
    assert created["budget_duration"] == "30d"
    assert (await litellm_admin.key_info(token_hash(created["key"]))).budget_duration == "30d"


async def test_model_numbers_beyond_the_columns_are_refused(login: Any) -> None:
    admin = api(await login(role="admin"))
    for extra, field in (
        ({"context_length": 2**40}, "context_length"),
        ({"max_output_tokens": 2**31}, "max_output_tokens"),
    ):
        response = await admin.call(
            "POST",
            "/admin/models",
            None,
            json={"name": "too-long-context", "litellm_params": {"model": "hosted_vllm/x"}, **extra},
        )
        assert response.status_code in (400, 422), response.text
        assert response.json()["field"] == field


async def test_sync_survives_litellm_values_our_columns_cannot_hold(login: Any, litellm_stack: Any) -> None:
    """A deployment added in LiteLLM directly, with numbers and names beyond our columns, is mirrored as unknown."""
    import uuid

    name = f"odd-model-{uuid.uuid4().hex[:8]}"
    created = litellm_stack.admin.post(
        "/model/new",
        json={
            "model_name": name,
            "litellm_params": {"model": "hosted_vllm/odd", "api_base": f"{litellm_stack.simulator_url}/v1"},
            "model_info": {
                "context_length": 2**40,
                "max_tokens": -(2**35),
                "provider": "p" * 300,
                "display_name": "d" * 300,
                "cost_per_page": "inf",
            },
        },
    )
    assert created.status_code == 200, created.text
    deployment_id = created.json()["model_id"]
    try:
        admin = api(await login(role="admin"))
        await admin.call("POST", "/admin/models/sync", 200)
        model = (await admin.call("GET", f"/admin/models/{name}", 200)).json()
        assert (model["context_length"], model["max_output_tokens"]) == (None, None)
        assert model["provider"] == "p" * 64 and model["display_name"] == "d" * 255
        assert model["pricing"]["per_page"] is None
    finally:
        litellm_stack.admin.post("/model/delete", json={"id": deployment_id})


async def test_login_return_path_longer_than_its_column_is_refused(make_app: Any, idp_settings: Any) -> None:
    async with make_app(idp_settings) as app, browser(app) as b:
        b.follow_redirects = False
        response = await b.get("/auth/oidc/start", params={"next": "/" + "a" * 3000})
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "next"
        assert (await b.get("/auth/oidc/start", params={"next": "/" + "a" * 2000})).status_code == 303


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "params",
    [
        {"since": "9999-12-31T00:00:00Z"},
        {"until": "9999-12-31T23:59:59Z"},
        {"since": "0001-01-01T00:00:00Z"},
        {"until": "0001-01-01T00:00:00Z"},
        {"since": "0001-01-01T00:00:00+14:00"},
        {"until": "9999-12-31T23:59:59-14:00"},
        {"since": "9999-12-31"},
        {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
    ],
)
async def test_audit_and_queue_dates_at_the_calendar_edges_are_not_500(login: Any, params: dict[str, str]) -> None:
    admin = api(await login(role="admin"))
    for path in ("/admin/audit", "/admin/subscriptions"):
        response = await admin.call("GET", path, None, params=params)
        assert response.status_code in (200, 400, 422), (path, params, response.status_code, response.text)
        if response.status_code != 200:
            assert response.json()["field"] in params, response.json()
