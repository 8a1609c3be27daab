"""Tokenize and conversion calls land in LiteLLM's spend logs and count against key limits."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from tests.hooks.support import CHAT, DOCLING, Proxy, key_spend, marker, sim_requests_with, spend_rows
from tests.support.stack import LiteLLMStack

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


def test_markdown_only_conversion_is_charged_per_page(
    proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    # docling-serve's answer has no page count unless the json export is asked for: the proxy
    # asks for it, counts json_content.pages and hands back exactly the formats the caller wanted.
    generated = new_key([DOCLING])
    name = marker()
    source = {"kind": "file", "base64_string": base64.b64encode(_pdf(4)).decode(), "filename": f"{name}.pdf"}

    resp = proxy.post("/docling/v1/convert/source", generated["key"], json={"model": DOCLING, "sources": [source]})
    upload = proxy.post(
        "/docling/v1/convert/file",
        generated["key"],
        data={"model": DOCLING},
        files=[("files", (f"{name}-up.pdf", _pdf(2), "application/pdf"))],
    )

    assert resp.status_code == 200 and upload.status_code == 200
    for answer in (resp.json(), upload.json()):
        assert answer["document"]["md_content"]
        assert answer["document"]["json_content"] is None
    forwarded = sim_requests_with(litellm_stack, name)
    assert [e["json"]["options"]["to_formats"] for e in forwarded if e["json"]] == [["md", "json"]]
    assert [e["form"]["fields"]["to_formats"] for e in forwarded if e["form"]] == [["md", "json"]]
    rows = spend_rows(litellm_stack, generated["token"], expected=2)
    assert sorted(row["spend"] for row in rows) == pytest.approx([2 * DOCLING_PAGE_PRICE, 4 * DOCLING_PAGE_PRICE])


def test_several_sources_come_back_zipped_and_every_page_is_charged(
    proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    generated = new_key([DOCLING])
    sources = [
        {"kind": "file", "base64_string": base64.b64encode(_pdf(pages)).decode(), "filename": f"d{pages}.pdf"}
        for pages in (2, 3)
    ]

    resp = proxy.post("/docling/v1/convert/source", generated["key"], json={"model": DOCLING, "sources": sources})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.content)) as archive:
        assert sorted(archive.namelist()) == ["d2.md", "d3.md"]  # the proxy's json exports removed
    rows = spend_rows(litellm_stack, generated["token"], expected=1)
    assert [row["spend"] for row in rows] == pytest.approx([5 * DOCLING_PAGE_PRICE])


def test_async_result_is_charged_once_however_often_it_is_fetched(
    proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    generated = new_key([DOCLING])
    source = {"kind": "file", "base64_string": base64.b64encode(_pdf(3)).decode(), "filename": "three.pdf"}
    task = proxy.post(
        "/docling/v1/convert/source/async", generated["key"], json={"model": DOCLING, "sources": [source]}
    )
    assert task.status_code == 200, task.text
    path = f"/docling/v1/result/{task.json()['task_id']}"

    first = proxy.get(path, generated["key"], params={"model": DOCLING})
    second = proxy.get(path, generated["key"], params={"model": DOCLING})

    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["document"] == second.json()["document"]
    assert first.headers["x-litellm-response-cost"] == f"{3 * DOCLING_PAGE_PRICE:.10g}"
    assert second.headers["x-litellm-response-cost"] == "0"
    rows = spend_rows(litellm_stack, generated["token"], expected=3)  # submit, result, result again
    assert len(rows) == 3
    assert sorted(row["spend"] for row in rows) == pytest.approx([0.0, 0.0, 3 * DOCLING_PAGE_PRICE])
    deadline = time.monotonic() + 30
    while key_spend(litellm_stack, generated["token"]) <= 0 and time.monotonic() < deadline:
        time.sleep(1)
    assert key_spend(litellm_stack, generated["token"]) == pytest.approx(3 * DOCLING_PAGE_PRICE)
