"""Document URLs on /docling/v1/*: only public http(s) targets reach docling-serve (SSRF guard)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.hooks.support import DOCLING, Proxy, marker, sim_requests_with


def _file(name: str) -> dict[str, str]:
    """A harmless file source whose name shows whether the request reached the simulator."""
    return {"kind": "file", "base64_string": base64.b64encode(b"x").decode(), "filename": name}


def _refused(resp: Any, field: str) -> None:
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["param"] == field
    assert field in error["message"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8100/doc.pdf",
        "http://[::1]/doc.pdf",
        "http://10.20.30.40/doc.pdf",
        "http://172.16.0.1/doc.pdf",
        "http://192.168.1.1/doc.pdf",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/doc.pdf",
        "http://0.0.0.0:8100/doc.pdf",
        "http://[fe80::1]/doc.pdf",
        "http://[fd12:3456::1]/doc.pdf",
        "http://[::ffff:127.0.0.1]/doc.pdf",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "http://2130706433/doc.pdf",
        "http://0177.0.0.1/doc.pdf",
        "http://0x7f.0.0.1/doc.pdf",
        "http://127.1/doc.pdf",
        "http://localhost:8100/doc.pdf",
        "http://foo.svc.cluster.local/doc.pdf",
        "http://docling.my-namespace.svc/doc.pdf",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://intranet/doc.pdf",
        "http://user:pw@93.184.215.14/doc.pdf",
        "http://93.184.215.14\\@127.0.0.1/doc.pdf",
        "http://%31%32%37.0.0.1/doc.pdf",
        "file:///etc/passwd",
        "gopher://93.184.215.14:70/_payload",
        "ftp://93.184.215.14/doc.pdf",
        "//127.0.0.1/doc.pdf",
    ],
)
def test_private_and_non_http_sources_are_refused_before_any_upstream_call(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], url: str
) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    body = {"model": DOCLING, "sources": [_file(name), {"kind": "http", "url": url}]}

    resp = proxy.post("/docling/v1/convert/source", key, json=body)

    _refused(resp, "sources[1].url")
    assert "public http(s)" in resp.json()["error"]["message"]
    assert sim_requests_with(proxy.stack, name) == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"http_sources": [{"url": "http://169.254.169.254/latest/meta-data/"}]}, "http_sources[0].url"),
        ({"callbacks": [{"url": "http://10.0.0.1/hook", "headers": {}}]}, "callbacks[0].url"),
        ({"callbacks": ["http://127.0.0.1:4000/key/generate"]}, "callbacks[0]"),
        (
            {"options": {"picture_description_api": {"url": "http://localhost:11434/v1/chat/completions"}}},
            "options.picture_description_api.url",
        ),
        (
            {"options": {"vlm_pipeline_model_api": {"url": "http://[::1]:8000/v1/chat"}}},
            "options.vlm_pipeline_model_api.url",
        ),
        ({"target": {"kind": "put", "url": "https://93.184.215.14/upload"}}, "target.kind"),
        ({"target": {"kind": "s3", "endpoint": "minio.storage.svc:9000", "bucket": "b"}}, "target.kind"),
        ({"sources": [{"kind": "s3", "endpoint": "10.0.0.5:9000", "bucket": "b"}]}, "sources[0].kind"),
        ({"sources": [{"kind": "google_drive", "path_id": "x"}]}, "sources[0].kind"),
    ],
)
def test_every_field_docling_serve_would_fetch_is_checked(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], extra: dict[str, Any], field: str
) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    body = {"model": DOCLING, "sources": [_file(name)], **extra}
    if "sources" in extra:
        body["sources"] = [*extra["sources"], _file(name)]

    resp = proxy.post("/docling/v1/convert/source", key, json=body)

    _refused(resp, field)
    assert sim_requests_with(proxy.stack, name) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"callbacks": "http://127.0.0.1:8100/hook"}, "callbacks"),
        ({"callbacks": json.dumps({"url": "http://10.1.1.1/hook"})}, "callbacks.url"),
        ({"picture_description_api": json.dumps({"url": "http://169.254.169.254/"})}, "picture_description_api.url"),
        ({"target_type": "presigned_url"}, "target_type"),
    ],
)
def test_multipart_fields_are_checked_too(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], fields: dict[str, str], field: str
) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()

    resp = proxy.post(
        "/docling/v1/convert/file",
        key,
        data={"model": DOCLING, **fields},
        files=[("files", (name, b"x", "text/plain"))],
    )

    _refused(resp, field)
    assert sim_requests_with(proxy.stack, name) == []


def test_unresolvable_host_is_refused(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    body = {"model": DOCLING, "sources": [_file(name), {"kind": "http", "url": f"https://{name}.example.com/d.pdf"}]}

    resp = proxy.post("/docling/v1/convert/source", key, json=body)

    _refused(resp, "sources[1].url")
    assert "resolved" in resp.json()["error"]["message"]
    assert sim_requests_with(proxy.stack, name) == []


def test_public_address_is_forwarded(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    url = f"http://93.184.215.14/{name}.pdf"  # a literal public address: no DNS needed on a test machine
    body = {
        "model": DOCLING,
        "sources": [{"kind": "http", "url": url, "headers": {"Referer": "http://127.0.0.1/"}}],
        "callbacks": [{"url": "https://93.184.215.14/hook"}],
    }

    resp = proxy.post("/docling/v1/convert/source", key, json=body)

    assert resp.status_code == 200, resp.text
    assert resp.json()["document"]["filename"] == f"{name}.pdf"
    assert len(sim_requests_with(proxy.stack, name)) == 1


def test_operator_allowlist_lets_an_internal_document_server_through(
    variant: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    key = new_key([DOCLING])["key"]
    name = marker()
    port = urlsplit(variant.stack.simulator_url).port
    allowed = {"model": DOCLING, "sources": [{"kind": "http", "url": f"http://127.0.0.1:{port}/{name}.pdf"}]}
    still_private = {"model": DOCLING, "sources": [{"kind": "http", "url": f"http://10.0.0.1/{name}-no.pdf"}]}

    ok = variant.post("/docling/v1/convert/source", key, json=allowed)
    refused = variant.post("/docling/v1/convert/source", key, json=still_private)

    assert ok.status_code == 200, ok.text
    assert ok.json()["document"]["filename"] == f"{name}.pdf"
    _refused(refused, "sources[0].url")
    assert [e["json"]["sources"][0]["url"] for e in sim_requests_with(variant.stack, name)] == [
        f"http://127.0.0.1:{port}/{name}.pdf"
    ]
