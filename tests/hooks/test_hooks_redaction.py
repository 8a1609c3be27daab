"""The ASGI wrapper that keeps secrets and key hashes out of the proxy's error bodies (pure parts).

End to end, through the real proxy: tests/api_keys/test_proxy_boundary.py
::test_error_bodies_never_carry_a_key_its_hash_or_the_master_key and tests/e2e/test_secret_scan.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from typing import Any

from tests.support.stack import REPO

sys.path.insert(0, str(REPO / "hooks"))

from litemaas_hooks.redaction import HASH_MASK, SECRET_MASK, RedactErrorBodies, redact

SECRET = "sk-" + "Ab3_-x" * 7
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()


def test_redact_masks_secrets_and_hashes_but_keeps_litellm_abbreviations() -> None:
    text = f"Received API Key = sk-...x9Q1, Key Hash (Token) ={DIGEST}. master={SECRET} {DIGEST.upper()}".encode()
    cleaned = redact(text)
    assert SECRET.encode() not in cleaned and DIGEST.encode() not in cleaned
    assert DIGEST.upper().encode() not in cleaned
    assert b"sk-...x9Q1" in cleaned and HASH_MASK in cleaned and SECRET_MASK in cleaned
    # Shorter hex runs (request ids) stay as they are.
    assert redact(b"id " + b"a" * 32) == b"id " + b"a" * 32


HEADERS = [
    (b"content-length", b"999"),
    (b"x-litellm-model-api-base", b"http://vllm.models.svc:8000/v1"),
    (b"x-litellm-model-id", DIGEST.encode()),
]


def _run(status: int, chunks: list[bytes]) -> list[dict[str, Any]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": HEADERS})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    asyncio.run(RedactErrorBodies(app)({"type": "http"}, receive, send))
    return sent


def test_error_bodies_are_rewritten_with_a_true_content_length() -> None:
    body = f'{{"error":{{"message":"Rate limit exceeded for api_key: {DIGEST}."}}}}'.encode()
    sent = _run(429, [body[:20], body[20:]])
    start, final = sent
    out = final["body"]
    assert start["status"] == 429 and DIGEST.encode() not in out and HASH_MASK in out
    headers = dict(start["headers"])
    assert headers[b"content-length"] == str(len(out)).encode()
    assert b"x-litellm-model-api-base" not in headers and headers[b"x-litellm-model-id"] == HASH_MASK


def test_successful_answers_and_streams_pass_untouched() -> None:
    chunks = [f"data: {DIGEST}\n\n".encode(), b"data: [DONE]\n\n"]
    sent = _run(200, chunks)
    assert [m.get("body") for m in sent[1:]] == chunks and len(sent) == 3
    headers = dict(sent[0]["headers"])
    assert b"x-litellm-model-api-base" not in headers and headers[b"x-litellm-model-id"] == DIGEST.encode()
