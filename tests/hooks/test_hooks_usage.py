"""Tokenize and conversion calls land in LiteLLM's spend logs and count against key limits."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import LiteLLMStack
from tests.hooks.conftest import CHAT, DOCLING, Proxy, key_spend, marker, spend_rows

CHAT_INPUT_PRICE = 0.0000002  # litellm_config/config.yaml, granite-3-2-8b-instruct
DOCLING_PAGE_PRICE = 0.001  # litellm_config/config.yaml, granite-docling-258m


def _pdf(pages: int) -> bytes:
    return b"%PDF-1.4\n" + b"<< /Type /Page >>\n" * pages + b"%%EOF"


def test_tokenize_calls_are_spend_rows_of_key_user_and_model(
    proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    generated = new_key([CHAT])
    counts = []
    for text in (f"first {marker()}", f"second, a little longer {marker()}"):
        resp = proxy.post("/v1/tokenize", generated["key"], json={"model": CHAT, "prompt": text})
        assert resp.status_code == 200, resp.text
        counts.append(resp.json()["count"])

    rows = spend_rows(litellm_stack, generated["token"], expected=2)

    assert len(rows) == 2
    assert {row["model_group"] for row in rows} == {CHAT}
    assert {row["user"] for row in rows} == {generated["user_id"]}
    assert sorted(row["prompt_tokens"] for row in rows) == sorted(counts)
    assert sorted(row["spend"] for row in rows) == pytest.approx(sorted(c * CHAT_INPUT_PRICE for c in counts))
    assert all(row["status"] == "success" for row in rows)
    deadline = time.monotonic() + 30
    while key_spend(litellm_stack, generated["token"]) <= 0 and time.monotonic() < deadline:
        time.sleep(1)
    assert key_spend(litellm_stack, generated["token"]) == pytest.approx(sum(c * CHAT_INPUT_PRICE for c in counts))


def test_conversion_is_charged_per_page(
    proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    generated = new_key([DOCLING])
    source = {"kind": "file", "base64_string": base64.b64encode(_pdf(4)).decode(), "filename": f"{marker()}.pdf"}

    resp = proxy.post(
        "/docling/v1/convert/source",
        generated["key"],
        json={"model": DOCLING, "options": {"to_formats": ["md", "json"]}, "sources": [source]},
    )
    upload = proxy.post(
        "/docling/v1/convert/file",
        generated["key"],
        data={"model": DOCLING, "to_formats": ["json"]},
        files=[("files", ("two.pdf", _pdf(2), "application/pdf"))],
    )

    assert resp.status_code == 200 and upload.status_code == 200
    rows = spend_rows(litellm_stack, generated["token"], expected=2)
    assert len(rows) == 2
    assert {row["model_group"] for row in rows} == {DOCLING}
    assert {row["user"] for row in rows} == {generated["user_id"]}
    assert sorted(row["spend"] for row in rows) == pytest.approx([2 * DOCLING_PAGE_PRICE, 4 * DOCLING_PAGE_PRICE])


def test_calls_reach_litellm_daily_activity(
    proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    generated = new_key([CHAT, DOCLING])
    source = {"kind": "file", "base64_string": base64.b64encode(_pdf(1)).decode(), "filename": "d.pdf"}
    assert proxy.post("/v1/tokenize", generated["key"], json={"model": CHAT, "prompt": "daily"}).status_code == 200
    assert (
        proxy.post(
            "/docling/v1/convert/source", generated["key"], json={"model": DOCLING, "sources": [source]}
        ).status_code
        == 200
    )

    deadline = time.monotonic() + 60
    groups: set[str] = set()
    while time.monotonic() < deadline and groups != {CHAT, DOCLING}:
        with litellm_stack.db() as conn:
            rows = conn.execute(
                'SELECT model_group, api_key FROM "LiteLLM_DailyUserSpend" WHERE user_id = %s',
                (generated["user_id"],),
            ).fetchall()
        groups = {row[0] for row in rows if row[1] == generated["token"]}
        time.sleep(1)
    assert groups == {CHAT, DOCLING}
    activity = litellm_stack.admin.get(
        "/user/daily/activity",
        params={"user_id": generated["user_id"], "start_date": "2000-01-01", "end_date": "2100-01-01"},
    )
    assert activity.status_code == 200, activity.text
    assert activity.json()["metadata"]["total_spend"] > 0


@pytest.mark.parametrize("route", ["tokenize", "docling"])
def test_key_rpm_limit_applies(proxy: Proxy, new_key: Callable[..., dict[str, Any]], route: str) -> None:
    key = new_key([CHAT, DOCLING], rpm_limit=2)["key"]
    statuses = []
    for _ in range(3):
        if route == "tokenize":
            resp = proxy.post("/v1/tokenize", key, json={"model": CHAT, "prompt": marker()})
        else:
            source = {"kind": "file", "base64_string": base64.b64encode(b"x").decode(), "filename": "x.txt"}
            resp = proxy.post("/docling/v1/convert/source", key, json={"model": DOCLING, "sources": [source]})
        statuses.append(resp.status_code)
    assert statuses == [200, 200, 429]


def test_key_budget_applies(proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]) -> None:
    generated = new_key([DOCLING], max_budget=0.0005)
    source = {"kind": "file", "base64_string": base64.b64encode(_pdf(3)).decode(), "filename": "b.pdf"}
    body = {"model": DOCLING, "options": {"to_formats": ["json"]}, "sources": [source]}
    first = proxy.post("/docling/v1/convert/source", generated["key"], json=body)  # costs 0.003 > budget
    assert first.status_code == 200, first.text

    deadline = time.monotonic() + 30
    refused = None
    while time.monotonic() < deadline:
        resp = proxy.post("/docling/v1/convert/source", generated["key"], json=body)
        if resp.status_code != 200:
            refused = resp
            break
        time.sleep(0.5)
    assert refused is not None
    assert 400 <= refused.status_code < 500
    assert "budget" in refused.text.lower()
