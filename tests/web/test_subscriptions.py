"""The subscriptions page in a real browser, against the real backend and LiteLLM proxy.

Status, reason and history as the user sees them; cancel (confirmed) and request review
(denied → pending) through the page; nobody sees or acts on another user's subscriptions.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.support.stack import CHAT, GUARD
from tests.web.portal_support import check_page


async def _csrf(page: Page) -> str:
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    return cookies["litemaas_csrf"]


async def _my_subscriptions(page: Page) -> dict[str, dict[str, Any]]:
    response = await page.request.get("/api/v1/subscriptions")
    assert response.ok
    return {s["model"]["name"]: s for s in await response.json()}


async def _subscribe(page: Page, model: str) -> dict[str, Any]:
    response = await page.request.post(
        "/api/v1/subscriptions", headers={"X-CSRF-Token": await _csrf(page)}, data={"model": model}
    )
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def test_subscriptions_story_status_history_review_cancel(
    stack_login: Any, stack_api: Any, stack_portal_server: Any
) -> None:
    page = await stack_login("user", next_path="/subscriptions")
    await expect(page.get_by_test_id("no-subscriptions")).to_be_visible()
    await _subscribe(page, CHAT)
    guard = await _subscribe(page, GUARD)
    admin = await stack_api("admin")
    denied = await admin.post(
        f"/api/v1/admin/subscriptions/{guard['id']}/deny", json={"reason": "not for this workshop"}
    )
    assert denied.status_code == 200, denied.text

    await page.goto(stack_portal_server.url + "/subscriptions")
    chat_row = page.locator(f'[data-testid="subscription-row"][data-model="{CHAT}"]')
    guard_row = page.locator(f'[data-testid="subscription-row"][data-model="{GUARD}"]')
    await expect(chat_row.get_by_test_id("subscription-status")).to_have_text("Active")
    await expect(guard_row.get_by_test_id("subscription-status")).to_have_text("Denied")
    await expect(guard_row.get_by_test_id("subscription-reason")).to_have_text("not for this workshop")
    # Only what the state machine allows: a denied subscription can be reviewed, an active one not.
    await expect(guard_row.get_by_test_id("subscription-review")).to_have_count(1)
    await expect(chat_row.get_by_test_id("subscription-review")).to_have_count(0)
    await check_page(page, "subscriptions")

    # History: subscribed (pending), then denied with the admin's reason; newest first.
    await guard_row.get_by_test_id("subscription-history").click()
    history = page.get_by_test_id("history-dialog")
    await expect(history).to_be_visible()
    rows = history.get_by_test_id("history-row")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("Denied")
    await expect(rows.nth(0)).to_contain_text("not for this workshop")
    await expect(rows.nth(1)).to_contain_text("Subscribed")
    await page.keyboard.press("Escape")
    await expect(history).to_have_count(0)

    # Request review: denied → pending, with the user's reason.
    await guard_row.get_by_test_id("subscription-review").click()
    review = page.get_by_test_id("request_review-dialog")
    await expect(review.get_by_label("Why should the decision change?")).to_be_focused()
    await review.get_by_label("Why should the decision change?").fill("I run the safety lab")
    await review.get_by_test_id("confirm-review").click()
    await expect(review).to_have_count(0)
    await expect(guard_row.get_by_test_id("subscription-status")).to_have_text("Pending approval")
    mine = await _my_subscriptions(page)
    assert (mine[GUARD]["status"], mine[GUARD]["status_reason"]) == ("pending", "I run the safety lab")

    # Cancel asks first: "Keep it" changes nothing, confirming cancels.
    await chat_row.get_by_test_id("subscription-cancel").click()
    await page.get_by_test_id("cancel-dialog").get_by_role("button", name="Keep it").click()
    await expect(page.get_by_test_id("cancel-dialog")).to_have_count(0)
    assert (await _my_subscriptions(page))[CHAT]["status"] == "active"
    await chat_row.get_by_test_id("subscription-cancel").click()
    await page.get_by_test_id("confirm-cancel").click()
    await expect(chat_row.get_by_test_id("subscription-status")).to_have_text("Cancelled")
    assert (await _my_subscriptions(page))[CHAT]["status"] == "cancelled"


async def test_a_user_never_sees_or_touches_another_users_subscriptions(
    stack_login: Any, stack_api: Any, stack_portal_server: Any
) -> None:
    url = stack_portal_server.url
    owner = await stack_api("user")
    created = await owner.post("/api/v1/subscriptions", json={"model": CHAT})
    assert created.status_code == 201, created.text
    sub = created.json()

    other = await stack_login("user", next_path="/subscriptions")
    for path in ("/subscriptions", "/subscriptions/table"):
        body = await (await other.request.get(url + path)).text()
        assert sub["id"] not in body and sub["username"] not in body
    headers = {"X-CSRF-Token": await _csrf(other), "HX-Request": "true"}
    for action in ("history", "cancel", "review"):
        shown = await other.request.get(f"{url}/subscriptions/{sub['id']}/{action}", headers={"HX-Request": "true"})
        assert shown.status in (403, 404), (action, shown.status)
        assert sub["username"] not in await shown.text()
    for action in ("cancel", "review"):
        done = await other.request.post(
            f"{url}/subscriptions/{sub['id']}/{action}", headers=headers, form={"reason": "mine now"}
        )
        assert done.status in (403, 404), (action, done.status)
    mine = (await owner.get(f"/api/v1/subscriptions/{sub['id']}")).json()
    assert mine["status"] == "active"
