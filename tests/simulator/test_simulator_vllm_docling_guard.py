"""vLLM tokenizer API, docling-serve conversion, Llama Guard verdicts and request introspection."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import zipfile

import httpx
import pytest

from litemaas.simulator.guard import TRIGGERS


def test_tokenize_prompt_returns_vllm_shape(sim: httpx.Client) -> None:
    body = sim.post("/tokenize", json={"model": "m", "prompt": "Hello world"}).json()
    assert set(body) >= {"count", "max_model_len", "tokens"}
    assert body["count"] == len(body["tokens"]) > 0
    assert body["max_model_len"] > 0


def test_tokenize_messages_counts_the_chat_template(sim: httpx.Client) -> None:
    plain = sim.post("/tokenize", json={"model": "m", "prompt": "Hello"}).json()
    chat = sim.post(
        "/tokenize",
        json={"model": "m", "messages": [{"role": "user", "content": "Hello"}]},
    ).json()
    assert chat["count"] > plain["count"]


def test_detokenize_round_trips_unicode(sim: httpx.Client) -> None:
    text = "Grüße aus Zürich — 東京 🚀 and spaces  "
    tokens = sim.post("/tokenize", json={"model": "m", "prompt": text}).json()["tokens"]
    assert sim.post("/detokenize", json={"model": "m", "tokens": tokens}).json() == {"prompt": text}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tokenize", {"model": "m"}),
        ("/detokenize", {"model": "m", "tokens": [-5]}),
        ("/detokenize", {"model": "m", "tokens": "abc"}),
    ],
)
def test_tokenizer_rejects_bad_requests(sim: httpx.Client, path: str, body: dict[str, object]) -> None:
    assert sim.post(path, json=body).status_code == 400


def test_guard_model_answers_safe(sim: httpx.Client) -> None:
    body = sim.post(
        "/v1/chat/completions",
        json={
            "model": "meta-llama/Llama-Guard-3-1B",
            "messages": [{"role": "user", "content": "How do tulips grow?"}],
        },
    ).json()
    assert body["choices"][0]["message"]["content"] == "safe"


@pytest.mark.parametrize(("phrase", "category"), TRIGGERS)
def test_guard_model_flags_each_trigger_phrase(sim: httpx.Client, phrase: str, category: str) -> None:
    body = sim.post(
        "/v1/chat/completions",
        json={
            "model": "llama-guard-3-1b",
            "messages": [{"role": "user", "content": f"Tell me {phrase.upper()} now"}],
        },
    ).json()
    assert body["choices"][0]["message"]["content"] == f"unsafe\n{category}"


def test_guard_judges_the_last_turn_only(sim: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "how to build a bomb"},
        {"role": "assistant", "content": "I cannot help with that."},
        {"role": "user", "content": "ok, tell me about tulips"},
    ]
    body = sim.post("/v1/chat/completions", json={"model": "guard", "messages": messages}).json()
    assert body["choices"][0]["message"]["content"] == "safe"


def test_non_guard_model_never_answers_a_verdict(sim: httpx.Client) -> None:
    body = sim.post(
        "/v1/chat/completions",
        json={
            "model": "granite",
            "messages": [{"role": "user", "content": "how to build a bomb"}],
        },
    ).json()
    assert not body["choices"][0]["message"]["content"].startswith("unsafe")


def _pdf(pages: int) -> bytes:
    objects = b"".join(b"<< /Type /Page /Parent 2 0 R >>\n" for _ in range(pages))
    return b"%PDF-1.4\n<< /Type /Pages /Count " + str(pages).encode() + b" >>\n" + objects + b"%%EOF"


def test_convert_source_base64_file(sim: httpx.Client) -> None:
    source = {
        "kind": "file",
        "base64_string": base64.b64encode(b"Quarterly report text").decode(),
        "filename": "q.txt",
    }
    body = sim.post("/v1/convert/source", json={"sources": [source]}).json()
    assert body["status"] == "success"
    assert body["document"]["filename"] == "q.txt"
    assert "Quarterly report text" in body["document"]["md_content"]
    assert isinstance(body["processing_time"], float)
    # docling-serve's ConvertDocumentResponse: no page count outside the exported DoclingDocument.
    assert set(body) == {"document", "status", "errors", "processing_time", "timings"}
    assert set(body["document"]) == {
        "filename",
        "md_content",
        "json_content",
        "html_content",
        "text_content",
        "doctags_content",
    }
    assert body["document"]["json_content"] is None


def test_convert_legacy_file_sources_counts_pdf_pages_in_json(
    sim: httpx.Client,
) -> None:
    source = {
        "base64_string": base64.b64encode(_pdf(3)).decode(),
        "filename": "deck.pdf",
    }
    body = sim.post(
        "/v1/convert/source",
        json={"file_sources": [source], "options": {"to_formats": ["md", "json"]}},
    )
    document = body.json()["document"]
    assert document["json_content"]["schema_name"] == "DoclingDocument"
    assert sorted(document["json_content"]["pages"]) == ["1", "2", "3"]


def test_convert_http_source_is_not_fetched(sim: httpx.Client) -> None:
    body = sim.post(
        "/v1/convert/source",
        json={"http_sources": [{"url": "http://192.0.2.1/paper.pdf"}]},
    ).json()
    assert body["status"] == "success"
    assert body["document"]["filename"] == "paper.pdf"
    assert "not fetched" in body["document"]["md_content"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sources": [{"kind": "file", "base64_string": "***"}]},
        {"sources": [{"kind": "ftp"}]},
        {"sources": [{"kind": "file", "base64_string": "eA==", "filename": "x"}], "target": {"kind": "s3"}},
    ],
)
def test_convert_source_rejects_bad_sources(sim: httpx.Client, body: dict[str, object]) -> None:
    assert sim.post("/v1/convert/source", json=body).status_code == 422


def test_convert_file_multipart_with_options(sim: httpx.Client) -> None:
    response = sim.post(
        "/v1/convert/file",
        files=[("files", ("deck.pdf", _pdf(2), "application/pdf"))],
        data={"to_formats": ["md", "text"]},
    )
    document = response.json()["document"]
    assert response.status_code == 200
    assert document["filename"] == "deck.pdf"
    assert document["text_content"] is not None
    assert document["json_content"] is None
    assert "num_pages" not in response.json()


def _zip_members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_several_sources_come_back_as_a_zip_of_exports(sim: httpx.Client) -> None:
    sources = [
        {"kind": "file", "base64_string": base64.b64encode(_pdf(pages)).decode(), "filename": f"d{pages}.pdf"}
        for pages in (2, 3)
    ]
    response = sim.post("/v1/convert/source", json={"sources": sources, "options": {"to_formats": ["md", "json"]}})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "converted_docs.zip" in response.headers["content-disposition"]
    members = _zip_members(response.content)
    assert sorted(members) == ["d2.json", "d2.md", "d3.json", "d3.md"]
    assert len(json.loads(members["d3.json"])["pages"]) == 3


def test_zip_target_and_async_result_zip(sim: httpx.Client) -> None:
    source = {"kind": "file", "base64_string": base64.b64encode(b"zipped text").decode(), "filename": "z.txt"}
    direct = sim.post("/v1/convert/source", json={"sources": [source], "target": {"kind": "zip"}})
    upload = sim.post(
        "/v1/convert/file", files=[("files", ("u.txt", b"up", "text/plain"))], data={"target_type": "zip"}
    )
    task = sim.post("/v1/convert/source/async", json={"sources": [source, {**source, "filename": "y.txt"}]}).json()
    result = sim.get(f"/v1/result/{task['task_id']}")

    assert sorted(_zip_members(direct.content)) == ["z.md"]
    assert sorted(_zip_members(upload.content)) == ["u.md"]
    assert result.headers["content-type"] == "application/zip"
    assert set(task) == {"task_id", "task_type", "task_status", "task_position", "task_meta", "error_message"}


def test_convert_file_without_files_is_422(sim: httpx.Client) -> None:
    assert sim.post("/v1/convert/file", data={"to_formats": "md"}).status_code == 422


def test_async_conversion_poll_and_result(sim: httpx.Client) -> None:
    source = {
        "kind": "file",
        "base64_string": base64.b64encode(b"async text").decode(),
        "filename": "a.txt",
    }
    task = sim.post("/v1/convert/source/async", json={"sources": [source]}).json()
    assert task["task_status"] == "success"
    assert sim.get(f"/v1/status/poll/{task['task_id']}").json()["task_status"] == "success"
    result = sim.get(f"/v1/result/{task['task_id']}").json()
    assert "async text" in result["document"]["md_content"]
    assert sim.get("/v1/result/unknown").status_code == 404


def test_requests_are_recorded_without_credentials(sim: httpx.Client) -> None:
    marker = uuid.uuid4().hex
    sim.post(
        "/tokenize",
        json={"model": "m", "prompt": marker},
        headers={"Authorization": "Bearer sk-secret", "X-Trace": marker},
    )
    entries = sim.get("/_sim/requests", params={"path": "/tokenize"}).json()["data"]
    entry = next(e for e in entries if (e["json"] or {}).get("prompt") == marker)
    assert entry["method"] == "POST"
    assert entry["headers"]["x-trace"] == marker
    assert "authorization" not in entry["headers"]
    assert entry["auth_sha256"] == hashlib.sha256(b"Bearer sk-secret").hexdigest()
    assert "sk-secret" not in str(entry)


def test_multipart_requests_record_form_fields_and_file_sizes(
    sim: httpx.Client,
) -> None:
    marker = uuid.uuid4().hex
    sim.post(
        "/v1/convert/file",
        files=[("files", (f"{marker}.txt", b"12345", "text/plain"))],
        data={"marker": marker},
    )
    entries = sim.get("/_sim/requests", params={"path": "/v1/convert/file"}).json()["data"]
    entry = next(e for e in entries if e["form"] and e["form"]["fields"].get("marker") == marker)
    assert entry["form"]["files"] == [
        {
            "field": "files",
            "filename": f"{marker}.txt",
            "size": 5,
            "content_type": "text/plain",
        }
    ]


def test_delete_clears_recorded_requests(sim: httpx.Client) -> None:
    sim.get("/health")
    sim.post("/tokenize", json={"model": "m", "prompt": "x"})
    assert sim.delete("/_sim/requests").status_code == 200
    assert sim.get("/_sim/requests").json()["data"] == []
