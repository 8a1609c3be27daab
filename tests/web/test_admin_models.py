"""Admin console, models: create a chat model against the simulator after a test connection, a refused
URL, the cascade shown before a delete, and a read-only admin's disabled page (the API refuses anyway)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.portal_support import check_page

pytestmark = pytest.mark.asyncio

BACKEND_MODEL = "hosted_vllm/ibm-granite/granite-3.2-8b-instruct"


async def test_admin_creates_a_chat_model_after_a_found_connection(
    stack_login: Any, stack_api: Any, litellm_stack: Any
) -> None:
    page = await stack_login(role="admin", next_path="/admin/models")
    await expect(page.get_by_test_id("models-table")).to_be_visible()
    await expect(page.locator('[data-testid="model-row"][data-model="granite-3-2-8b-instruct"]')).to_be_visible()
    await check_page(page, "admin-models")

    await page.get_by_test_id("add-model").click()
    await page.wait_for_url("**/admin/models/new")
    name = f"console-{uuid.uuid4().hex[:8]}"
    await page.get_by_test_id("field-name").fill(name)
    await page.get_by_test_id("field-display_name").fill("Console model")
    await page.get_by_test_id("field-api_base").fill("http://169.254.169.254/v1")
    await page.get_by_test_id("field-backend_model").fill(BACKEND_MODEL)
    await page.get_by_test_id("test-connection").click()
    await expect(page.get_by_test_id("connection-result")).to_have_attribute("data-status", "url_refused")

    await page.get_by_test_id("field-api_base").fill(f"{litellm_stack.simulator_url}/nothing-here")
    await page.get_by_test_id("test-connection").click()
    await expect(page.get_by_test_id("connection-result")).to_have_attribute("data-status", "not_found")

    await page.get_by_test_id("field-api_base").fill(f"{litellm_stack.simulator_url}/v1")
    await page.get_by_test_id("test-connection").click()
    await expect(page.get_by_test_id("connection-result")).to_have_attribute("data-status", "found")
    await check_page(page, "admin-models-new")
    # check_page reloaded the page: fill the form again and save.
    await page.get_by_test_id("field-name").fill(name)
    await page.get_by_test_id("field-display_name").fill("Console model")
    await page.get_by_test_id("field-api_base").fill(f"{litellm_stack.simulator_url}/v1")
    await page.get_by_test_id("field-backend_model").fill(BACKEND_MODEL)
    await page.get_by_test_id("field-api_key").fill("sk-backend-secret-never-shown")
    await page.get_by_test_id("extra-tokenize").check()
    await page.get_by_test_id("field-input_price_per_million").fill("0.5")
    await page.get_by_test_id("save-model").click()
    await page.wait_for_url("**/admin/models?*")
    await expect(page.get_by_test_id("done")).to_contain_text(name)
    row = page.locator(f'[data-testid="model-row"][data-model="{name}"]')
    await expect(row.locator('[data-capability="tokenize"]')).to_be_visible()
    assert "sk-backend-secret-never-shown" not in await page.content()

    # The model works at the proxy for a subscriber, and the admin sees the subscriber.
    user = await stack_api()
    assert (await user.post("/api/v1/subscriptions", json={"model": name})).status_code == 201
    await page.reload()
    await expect(row.get_by_test_id("subscribers")).to_have_text("1")

    # Edit: the key field is blank ("leave blank to keep"); saving keeps the model.
    await row.get_by_test_id("edit").click()
    await expect(page.get_by_test_id("field-api_key")).to_have_value("")
    await page.get_by_test_id("field-display_name").fill("Console model v2")
    await page.get_by_test_id("save-model").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(row).to_contain_text("Console model v2")

    # Delete: the cascade first.
    await row.get_by_test_id("delete").click()
    await expect(page.get_by_test_id("impact-subscriptions")).to_contain_text("1 active")
    await expect(page.get_by_test_id("impact-keys")).to_contain_text("0")
    await page.get_by_test_id("confirm-delete").click()
    await expect(page.get_by_test_id("done")).to_be_visible()
    await expect(row.get_by_test_id("availability")).to_contain_text("Deleted")


async def test_form_errors_name_the_field(stack_login: Any) -> None:
    page = await stack_login(role="admin", next_path="/admin/models/new?type=embeddings")
    await page.get_by_test_id("field-name").fill("bad name with spaces")
    await page.get_by_test_id("field-api_base").fill("http://127.0.0.1:1/v1")
    await page.get_by_test_id("field-backend_model").fill("hosted_vllm/x")
    await page.get_by_test_id("save-model").click()
    await expect(page.locator('[data-testid="field-error"][data-field="name"]')).to_be_visible()
    await expect(page.get_by_test_id("field-name")).to_have_attribute("aria-invalid", "true")


async def test_read_only_admin_sees_disabled_controls_and_the_api_refuses(stack_login: Any, stack_api: Any) -> None:
    page = await stack_login(role="admin_readonly", next_path="/admin/models")
    await expect(page.get_by_test_id("read-only-notice")).to_be_visible()
    await expect(page.get_by_test_id("sync-models")).to_be_disabled()
    await expect(page.get_by_test_id("add-model")).to_be_disabled()
    await expect(page.get_by_test_id("delete").first).to_be_disabled()
    await page.goto("/admin/models/granite-3-2-8b-instruct/edit")
    await expect(page.get_by_test_id("save-model")).to_be_disabled()
    await expect(page.get_by_test_id("field-display_name")).to_be_disabled()

    readonly = await stack_api(role="admin_readonly")
    for method, path, body in (
        ("POST", "/api/v1/admin/models/sync", None),
        ("POST", "/api/v1/admin/models/test-connection", {"api_base": "http://127.0.0.1:1/v1", "model": "m"}),
        ("PATCH", "/api/v1/admin/models/granite-3-2-8b-instruct", {"display_name": "x"}),
    ):
        response = await readonly.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
    # The page's own write routes refuse too.
    refused = await readonly.post("/admin/models/sync", data={"csrf_token": readonly.headers["X-CSRF-Token"]})
    assert refused.status_code == 403
