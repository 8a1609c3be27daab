"""/docling/v1/* on the real proxy: JSON and multipart conversion, async tasks, bad input."""

from __future__ import annotations

import base64
import http.client
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.hooks.support import CHAT, DOCLING, EMBED, Proxy, marker, sim_requests, sim_requests_with


def _pdf(pages: int) -> bytes:
    return b"%PDF-1.4\n" + b"<< /Type /Page >>\n" * pages + b"%%EOF"


def _source(name: str, content: bytes) -> dict[str, str]:
    return {"kind": "file", "base64_string": base64.b64encode(content).decode(), "filename": name}


def test_convert_source_strips_model_and_returns_docling_answer(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    key = new_key([DOCLING])["key"]
    name = f"{marker()}.txt"
    body = {"model": DOCLING, "options": {"to_formats": ["md", "json"]}, "sources": [_source(name, b"Hello docs")]}

    resp = proxy.post("/docling/v1/convert/source", key, json=body)

    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["status"] == "success"
    assert answer["document"]["filename"] == name
    assert "Hello docs" in answer["document"]["md_content"]
    forwarded = [e for e in sim_requests(proxy.stack, "/v1/convert/source") if name in json.dumps(e["json"])]
    assert len(forwarded) == 1
    assert forwarded[0]["json"] == {"options": {"to_formats": ["md", "json"]}, "sources": body["sources"]}


def test_convert_file_multipart_forwards_every_file_and_option(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()

    resp = proxy.post(
        "/docling/v1/convert/file",
        key,
        data={"model": DOCLING, "to_formats": ["md", "json"], "do_ocr": "false"},
        files=[
            ("files", (f"{name}-a.pdf", _pdf(3), "application/pdf")),
            ("files", (f"{name}-b.txt", b"second file", "text/plain")),
        ],
    )

    assert resp.status_code == 200, resp.text
    # Several documents come back as docling-serve's zip, one file per document and format.
    assert resp.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.content)) as archive:
        assert sorted(archive.namelist()) == [f"{name}-{n}.{ext}" for n in "ab" for ext in ("json", "md")]
    forwarded = [e for e in sim_requests(proxy.stack, "/v1/convert/file") if name in json.dumps(e["form"])]
    assert len(forwarded) == 1
    form = forwarded[0]["form"]
    assert form["fields"] == {"to_formats": ["md", "json"], "do_ocr": "false"}
    assert [(f["filename"], f["size"]) for f in form["files"]] == [
        (f"{name}-a.pdf", len(_pdf(3))),
        (f"{name}-b.txt", 11),
    ]


def test_async_conversion_then_poll_and_result_with_model_in_query(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    key = new_key([DOCLING])["key"]
    body = {"model": DOCLING, "sources": [_source("async.txt", b"async body")]}

    task = proxy.post("/docling/v1/convert/source/async", key, json=body)
    assert task.status_code == 200, task.text
    task_id = task.json()["task_id"]
    poll = proxy.get(f"/docling/v1/status/poll/{task_id}", key, params={"model": DOCLING})
    result = proxy.get(f"/docling/v1/result/{task_id}", key, params={"model": DOCLING})

    assert poll.status_code == 200 and poll.json()["task_status"] == "success"
    assert result.status_code == 200 and "async body" in result.json()["document"]["md_content"]
    assert result.json()["document"]["json_content"] is None  # the proxy's own json export is removed
    polled = [e for e in sim_requests(proxy.stack, f"/v1/status/poll/{task_id}")]
    assert polled and polled[0]["query"] == ""  # model consumed by the proxy


def test_unknown_task_is_404(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([DOCLING])["key"]
    resp = proxy.get("/docling/v1/result/does-not-exist", key, params={"model": DOCLING})
    assert resp.status_code == 404, resp.text


@pytest.mark.parametrize("kind", ["json", "multipart", "query"])
def test_key_without_the_docling_model_is_refused(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], kind: str
) -> None:
    key = new_key([CHAT])["key"]
    name = marker()
    if kind == "json":
        resp = proxy.post("/docling/v1/convert/source", key, json={"model": DOCLING, "sources": [_source(name, b"x")]})
    elif kind == "multipart":
        resp = proxy.post(
            "/docling/v1/convert/file", key, data={"model": DOCLING}, files=[("files", (name, b"x", "text/plain"))]
        )
    else:
        resp = proxy.get(f"/docling/v1/status/poll/{name}", key, params={"model": DOCLING})
    assert resp.status_code in (401, 403), resp.text
    assert sim_requests_with(proxy.stack, name) == []
    assert not [e for e in sim_requests(proxy.stack, f"/v1/status/poll/{name}")]


@pytest.mark.parametrize("model", [CHAT, EMBED])
def test_model_without_document_conversion_is_400(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], model: str
) -> None:
    key = new_key([model])["key"]
    name = marker()
    resp = proxy.post("/docling/v1/convert/source", key, json={"model": model, "sources": [_source(name, b"x")]})
    assert resp.status_code == 400, resp.text
    assert "document_conversion" not in resp.json()["error"]["message"] or model in resp.json()["error"]["message"]
    assert model in resp.json()["error"]["message"]
    assert sim_requests_with(proxy.stack, name) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"sources": [_source("x.txt", b"x")]}, 400),  # no model
        ({"model": DOCLING, "timeout": "soon", "sources": [_source("x.txt", b"x")]}, 400),
        ({"model": DOCLING, "sources": [{"kind": "file", "base64_string": "***"}]}, 422),  # docling-serve says
    ],
)
def test_bad_conversion_requests(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], body: dict[str, Any], status: int
) -> None:
    key = new_key([DOCLING])["key"]
    resp = proxy.post("/docling/v1/convert/source", key, json=body)
    assert resp.status_code == status, resp.text


def test_non_json_body_is_400(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([DOCLING])["key"]
    resp = proxy.post(
        "/docling/v1/convert/source", key, content=b"model=granite", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400, resp.text


def _raw_post(url: str, raw_path: str, key: str, body: bytes) -> tuple[int, bytes]:
    """POST with the path exactly as given (no client-side dot-segment normalisation)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request(
            "POST",
            raw_path,
            body=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "raw_path",
    [
        "/docling/v1/../../key/generate",
        "/docling/v1/convert/../../../health",
        "/docling/v1/%2e%2e/%2e%2e/key/generate",
        "/docling/v1/convert%2F..%2F..%2Fhealth",
        "/docling/v1/convert%2fsource",
        "/docling/v1/..%5c..%5chealth",
        "/docling/v1/convert/%252e%252e/health",
        "/docling/v1/./convert/source",
    ],
)
def test_path_traversal_never_leaves_docling_v1(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], raw_path: str
) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    body = json.dumps({"model": DOCLING, "sources": [_source(name, b"x")]}).encode()

    status, answer = _raw_post(proxy.url, raw_path, key, body)

    assert status in (400, 404), answer
    assert sim_requests_with(proxy.stack, name) == []


def test_oversized_upload_is_413_and_never_forwarded(variant: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    big = b"x" * (1024 * 1024 + 1)

    multipart = variant.post(
        "/docling/v1/convert/file", key, data={"model": DOCLING}, files=[("files", (name, big, "text/plain"))]
    )
    as_json = variant.post("/docling/v1/convert/source", key, json={"model": DOCLING, "sources": [_source(name, big)]})
    within_limit = variant.post(
        "/docling/v1/convert/file",
        key,
        data={"model": DOCLING},
        files=[("files", (f"{name}-ok", b"x" * 1000, "text/plain"))],
    )

    assert multipart.status_code == 413, multipart.text
    assert "limit" in multipart.json()["error"]["message"].lower()
    assert as_json.status_code == 413, as_json.text
    assert within_limit.status_code == 200, within_limit.text
    assert [e["form"]["files"][0]["filename"] for e in sim_requests_with(variant.stack, name)] == [f"{name}-ok"]


def test_oversized_chunked_upload_without_length_is_413(variant: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    prefix = json.dumps({"model": DOCLING, "sources": [{"kind": "file", "filename": name, "base64_string": ""}]})
    body = prefix[:-4].encode() + b"A" * (2 * 1024 * 1024) + b'"}]}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: the proxy must count as it reads
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    resp = variant.post(
        "/docling/v1/convert/source", key, content=chunks(), headers={"content-type": "application/json"}
    )

    assert resp.status_code == 413, resp.text
    assert sim_requests_with(variant.stack, name) == []


@pytest.mark.parametrize("timeout", [301, 3600, "3600", 0, "nan", "inf", True, [10]])
def test_timeout_above_the_server_limit_or_not_a_number_is_400(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], timeout: Any
) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    body = {"model": DOCLING, "timeout": timeout, "sources": [_source(name, b"x")]}

    resp = proxy.post("/docling/v1/convert/source", key, json=body)

    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == "timeout"
    assert sim_requests_with(proxy.stack, name) == []


def test_timeout_within_the_limit_is_used(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([DOCLING])["key"]
    resp = proxy.post(
        "/docling/v1/convert/source", key, json={"model": DOCLING, "timeout": 300, "sources": [_source("t.txt", b"x")]}
    )
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/docling/v1/clear/results"),
        ("GET", "/docling/v1/clear/converters"),
        ("GET", "/docling/v1/memory/stats"),
        ("POST", "/docling/v1/callback/task/progress"),
        ("POST", "/docling/v1/convert/source/batch"),
        ("GET", "/docling/v1/convert/source"),
        ("POST", "/docling/v1/status/poll/abc"),
    ],
)
def test_management_and_unknown_docling_paths_are_not_relayed(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], method: str, path: str
) -> None:
    key = new_key([DOCLING])["key"]
    if method == "GET":
        resp = proxy.get(path, key, params={"model": DOCLING})
    else:
        resp = proxy.post(path, key, json={"model": DOCLING, "sources": [_source("p.txt", b"x")]})
    assert resp.status_code == 404, resp.text
    assert "is not available" in resp.json()["error"]["message"]
    upstream = path.removeprefix("/docling")
    assert [e for e in sim_requests(proxy.stack, upstream) if (e["method"], e["path"]) == (method, upstream)] == []


def test_async_task_answers_only_the_key_that_started_it(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    owner = new_key([DOCLING])["key"]
    other = new_key([DOCLING])["key"]
    task = proxy.post(
        "/docling/v1/convert/source/async", owner, json={"model": DOCLING, "sources": [_source("own.txt", b"mine")]}
    )
    assert task.status_code == 200, task.text
    task_id = task.json()["task_id"]

    other_poll = proxy.get(f"/docling/v1/status/poll/{task_id}", other, params={"model": DOCLING})
    other_result = proxy.get(f"/docling/v1/result/{task_id}", other, params={"model": DOCLING})

    assert other_poll.status_code == 404 and other_result.status_code == 404
    assert other_poll.json()["error"]["message"] == other_result.json()["error"]["message"] == "Task not found."
    assert sim_requests(proxy.stack, f"/v1/status/poll/{task_id}") == []
    assert sim_requests(proxy.stack, f"/v1/result/{task_id}") == []
    own_result = proxy.get(f"/docling/v1/result/{task_id}", owner, params={"model": DOCLING})
    assert own_result.status_code == 200 and "mine" in own_result.json()["document"]["md_content"]
