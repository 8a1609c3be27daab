"""Portal settings in the database: playground limits, public proxy URL, currency (environment as defaults)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.asyncio

PATH = "/api/v1/admin/settings/portal"


@pytest.fixture
async def reset_portal(admin_client: Any):
    yield
    # The session database is shared: leave the environment's values in force.
    response = await admin_client.put(PATH, json={})
    assert response.status_code == 200, response.text


async def test_defaults_come_from_the_environment(admin_client, readonly_client, settings, reset_portal) -> None:
    await admin_client.put(PATH, json={})
    current = (await readonly_client.get(PATH)).json()
    assert current["overrides"] == {k: None for k in current["overrides"]}
    assert current["effective"] == current["defaults"]
    assert current["defaults"]["playground_rpm_limit"] == settings.playground_rpm_limit
    assert current["defaults"]["playground_tpm_limit"] == settings.playground_tpm_limit
    assert current["defaults"]["playground_max_tokens"] == settings.playground_max_tokens
    assert current["defaults"]["public_proxy_url"] == settings.proxy_url.rstrip("/")
    assert current["defaults"]["currency_label"] == "USD"


async def test_overrides_apply_and_are_audited(admin_client, user_client, reset_portal) -> None:
    body = {
        "playground_rpm_limit": 7,
        "playground_tpm_limit": 7777,
        "playground_max_tokens": 77,
        "public_proxy_url": "https://ai.example.com/",
        "currency_label": "EUR",
        "currency_symbol": "€",
    }
    saved = await admin_client.put(PATH, json=body)
    assert saved.status_code == 200, saved.text
    effective = saved.json()["effective"]
    assert effective["public_proxy_url"] == "https://ai.example.com"
    assert effective["playground_rpm_limit"] == 7 and effective["currency_label"] == "EUR"
    events = (await admin_client.get("/api/v1/admin/audit", params={"action": "settings.portal.update"})).json()
    assert events["items"][0]["after"]["playground_max_tokens"] == 77

    # The playground page shows (and the playground enforces) the database values.
    page = await user_client.get("/playground")
    assert page.status_code == 200
    assert "7777" in page.text and "77" in page.text

    # A field left out goes back to the environment's value.
    partial = (await admin_client.put(PATH, json={"currency_label": "EUR"})).json()
    assert partial["effective"]["playground_rpm_limit"] == partial["defaults"]["playground_rpm_limit"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"playground_rpm_limit": 0}, "playground_rpm_limit"),
        ({"playground_tpm_limit": -5}, "playground_tpm_limit"),
        ({"playground_max_tokens": 10**12}, "playground_max_tokens"),
        ({"public_proxy_url": "ftp://ai.example.com"}, "public_proxy_url"),
        ({"public_proxy_url": "https://user:pw@ai.example.com"}, "public_proxy_url"),
        ({"currency_label": "x" * 17}, "currency_label"),
        ({"currency_label": "\u0000"}, "currency_label"),
        ({"unknown_setting": 1}, "unknown_setting"),
    ],
)
async def test_bad_values_name_the_field_and_change_nothing(admin_client, body, field, reset_portal) -> None:
    before = (await admin_client.get(PATH)).json()
    response = await admin_client.put(PATH, json=body)
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field
    assert (await admin_client.get(PATH)).json() == before


async def test_read_only_admins_and_users_cannot_change_settings(readonly_client, user_client) -> None:
    for who in (readonly_client, user_client):
        response = await who.put(PATH, json={"currency_label": "GBP"})
        assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert (await user_client.get(PATH)).status_code == 403
