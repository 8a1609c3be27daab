"""Banners over HTTP: validation naming the field, Markdown sanitised, role and window targeting,
per-user dismissals, ordering, audit, and writes refused to read-only admins and users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.backend import unique

pytestmark = pytest.mark.asyncio

ADMIN = "/api/v1/admin/banners"
MINE = "/api/v1/banners"


@pytest.fixture
async def made(admin_client: Any):
    """Create banners through the API; each is deleted after the test (the database is shared)."""
    ids: list[str] = []

    async def make(**fields: Any) -> dict[str, Any]:
        body = {"message": unique("banner"), **fields}
        response = await admin_client.post(ADMIN, json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
        return response.json()

    yield make
    for banner_id in ids:
        await admin_client.delete(f"{ADMIN}/{banner_id}")


def _ids(banners: list[dict[str, Any]]) -> list[str]:
    return [banner["id"] for banner in banners]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, "ends_at"),
        ({"link_url": "javascript:alert(1)"}, "link_url"),
        ({"link_url": "ftp://files.example.com/"}, "link_url"),
        ({"link_url": "//evil.example/"}, "link_url"),
        ({"link_url": "https://user:pw@example.com/"}, "link_url"),
        ({"link_text": "no link"}, "link_text"),
        ({"target_roles": ["user", "superuser"]}, "target_roles"),
        ({"target_roles": []}, "target_roles"),
        ({"severity": "critical"}, "severity"),
        ({"message_format": "html"}, "message_format"),
        ({"message": "   "}, "message"),
        ({"message": "bell\u0007"}, "message"),
        ({"ends_at": "9999-12-31T23:59:59-14:00"}, "ends_at"),
    ],
)
async def test_bad_banners_are_refused_naming_the_field(admin_client, fields, field) -> None:
    before = (await admin_client.get(ADMIN)).json()
    response = await admin_client.post(ADMIN, json={"message": "hello", **fields})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_banner"
    assert response.json()["field"] == field
    assert (await admin_client.get(ADMIN)).json() == before


async def test_malformed_payloads_name_the_field(admin_client) -> None:
    for body, field in (({"message": "x" * 1001}, "message"), ({"message": "x", "starts_at": "soon"}, "starts_at")):
        response = await admin_client.post(ADMIN, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field


async def test_markdown_is_sanitised_for_everyone_who_reads_it(admin_client, login, made) -> None:
    banner = await made(
        message="**Upgrade** <script>alert(1)</script> [docs](https://docs.example.com) [x](javascript:alert`1`)",
        message_format="markdown",
        target_roles=["user"],
    )
    assert banner["message_html"] == (
        "<strong>Upgrade</strong> &lt;script&gt;alert(1)&lt;/script&gt; "
        '<a href="https://docs.example.com" rel="noopener noreferrer">docs</a> x'
    )
    user = await login(unique("reader"), "user")
    shown = {b["id"]: b for b in (await user.get(MINE)).json()}
    assert shown[banner["id"]]["message_html"] == banner["message_html"]
    page = await user.get("/catalog")
    assert banner["message_html"] in page.text
    assert "<script>alert(1)</script>" not in page.text


async def test_roles_windows_and_dismissals_decide_who_sees_what(admin_client, login, made) -> None:
    now = datetime.now(UTC)
    for_users = await made(target_roles=["user"], severity="warning")
    for_everyone = await made(dismissible=False)
    await made(target_roles=["user"], starts_at=(now + timedelta(hours=1)).isoformat())
    await made(target_roles=["user"], ends_at=(now - timedelta(minutes=1)).isoformat())
    await made(target_roles=["user"], enabled=False)
    user = await login(unique("u"), "user")
    readonly = await login(unique("ro"), "admin_readonly")

    mine = _ids((await user.get(MINE)).json())
    assert for_users["id"] in mine and for_everyone["id"] in mine
    theirs = _ids((await readonly.get(MINE)).json())
    assert for_users["id"] not in theirs and for_everyone["id"] in theirs
    statuses = {b["id"]: b["status"] for b in (await admin_client.get(ADMIN)).json()}
    assert list(statuses.values()).count("scheduled") >= 1 and "expired" in statuses.values()

    assert (await user.post(f"{MINE}/{for_users['id']}/dismiss")).status_code == 204
    assert (await user.post(f"{MINE}/{for_users['id']}/dismiss")).status_code == 204  # idempotent
    assert for_users["id"] not in _ids((await user.get(MINE)).json())
    # Dismissed for this user only: another user still sees it.
    other = await login(unique("u2"), "user")
    assert for_users["id"] in _ids((await other.get(MINE)).json())
    refused = await user.post(f"{MINE}/{for_everyone['id']}/dismiss")
    assert refused.status_code == 400 and refused.json()["error"] == "banner_not_dismissible"
    assert (await user.post(f"{MINE}/00000000-0000-0000-0000-000000000000/dismiss")).status_code == 404

    # A new message is shown again to those who dismissed the old one.
    updated = await admin_client.put(
        f"{ADMIN}/{for_users['id']}", json={"message": "new text", "target_roles": ["user"]}
    )
    assert updated.status_code == 200, updated.text
    assert for_users["id"] in _ids((await user.get(MINE)).json())


async def test_dismissal_survives_a_new_session(admin_client, login, made) -> None:
    banner = await made(target_roles=["user"])
    name = unique("same")
    first = await login(name, "user")
    assert (await first.post(f"{MINE}/{banner['id']}/dismiss")).status_code == 204
    second = await login(name, "user")
    assert banner["id"] not in _ids((await second.get(MINE)).json())


async def test_reorder_puts_listed_banners_first_and_is_audited(admin_client, made) -> None:
    a, b, c = await made(), await made(), await made()
    reordered = await admin_client.put(f"{ADMIN}/order", json={"ids": [c["id"], a["id"]]})
    assert reordered.status_code == 200, reordered.text
    order = [i for i in _ids(reordered.json()) if i in {a["id"], b["id"], c["id"]}]
    assert order == [c["id"], a["id"], b["id"]]
    bad = await admin_client.put(f"{ADMIN}/order", json={"ids": [a["id"], "00000000-0000-0000-0000-000000000000"]})
    assert bad.status_code == 400 and bad.json()["field"] == "ids.1"
    events = (await admin_client.get("/api/v1/admin/audit", params={"action": "banner.*", "limit": 20})).json()
    actions = {e["action"] for e in events["items"]}
    assert {"banner.create", "banner.reorder"} <= actions
    created = next(e for e in events["items"] if e["action"] == "banner.create" and e["target_id"] == c["id"])
    assert created["after"]["message"] == c["message"]

    assert (await admin_client.delete(f"{ADMIN}/{b['id']}")).status_code == 204
    assert (await admin_client.get(f"{ADMIN}/{b['id']}")).status_code == 404
    deleted = (
        await admin_client.get("/api/v1/admin/audit", params={"action": "banner.delete", "target_id": b["id"]})
    ).json()
    assert deleted["items"][0]["before"]["message"] == b["message"]


async def test_readonly_admins_and_users_cannot_change_banners(readonly_client, user_client, made) -> None:
    banner = await made()
    assert (await readonly_client.get(ADMIN)).status_code == 200
    assert (await user_client.get(ADMIN)).status_code == 403
    for caller in (readonly_client, user_client):
        assert (await caller.post(ADMIN, json={"message": "nope"})).status_code == 403
        assert (await caller.put(f"{ADMIN}/{banner['id']}", json={"message": "nope"})).status_code == 403
        assert (await caller.put(f"{ADMIN}/order", json={"ids": [banner["id"]]})).status_code == 403
        assert (await caller.delete(f"{ADMIN}/{banner['id']}")).status_code == 403
