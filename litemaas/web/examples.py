"""Copy-ready examples for a model's capabilities, in curl and Python.

Every example calls the public proxy URL with ``KEY_PLACEHOLDER`` where the key goes (never a
real key). ``tests/web/test_catalog.py`` runs each one against the real proxy, so they stay true.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litemaas.web.i18n import N_

KEY_PLACEHOLDER = "sk-your-litemaas-key"
GUARDRAIL = "llama-guard"
# The file the upload examples send (any PDF, DOCX, HTML, image... next to where it runs).
UPLOAD_FILE = "document.pdf"


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    capability: str
    title: str
    language: str  # "curl" or "python"
    code: str


@dataclass(frozen=True, slots=True)
class ExampleSet:
    capability: str
    examples: list[Example]


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2)


def _curl(path: str, body: dict[str, Any], *, base: str, stream: bool = False) -> str:
    flags = "curl -sS -N" if stream else "curl -sS"
    return (
        f"{flags} {shlex.quote(base + path)} \\\n"
        f'  -H "Authorization: Bearer {KEY_PLACEHOLDER}" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d {shlex.quote(_json(body))}\n"
    )


def _openai_client(base: str) -> str:
    return f'from openai import OpenAI\n\nclient = OpenAI(base_url="{base}/v1", api_key="{KEY_PLACEHOLDER}")\n'


def _chat(model: str, base: str) -> list[Example]:
    messages = [{"role": "user", "content": "Say hello in one sentence."}]
    return [
        Example(
            "chat-curl",
            "chat",
            N_("Chat completion"),
            "curl",
            _curl("/v1/chat/completions", {"model": model, "messages": messages}, base=base),
        ),
        Example(
            "chat-python",
            "chat",
            N_("Chat completion"),
            "python",
            _openai_client(base)
            + "\nresponse = client.chat.completions.create(\n"
            + f'    model="{model}",\n'
            + '    messages=[{"role": "user", "content": "Say hello in one sentence."}],\n'
            + ")\nprint(response.choices[0].message.content)\n",
        ),
        Example(
            "chat-stream-curl",
            "chat",
            N_("Streaming chat completion"),
            "curl",
            _curl(
                "/v1/chat/completions", {"model": model, "messages": messages, "stream": True}, base=base, stream=True
            ),
        ),
        Example(
            "chat-stream-python",
            "chat",
            N_("Streaming chat completion"),
            "python",
            _openai_client(base)
            + "\nstream = client.chat.completions.create(\n"
            + f'    model="{model}",\n'
            + '    messages=[{"role": "user", "content": "Say hello in one sentence."}],\n'
            + "    stream=True,\n"
            + ")\nfor chunk in stream:\n"
            + "    if chunk.choices and chunk.choices[0].delta.content:\n"
            + '        print(chunk.choices[0].delta.content, end="", flush=True)\n'
            + "print()\n",
        ),
    ]


def _embeddings(model: str, base: str) -> list[Example]:
    body = {"model": model, "input": ["LiteMaaS serves models to workshop attendees."]}
    return [
        Example("embeddings-curl", "embeddings", N_("Embeddings"), "curl", _curl("/v1/embeddings", body, base=base)),
        Example(
            "embeddings-python",
            "embeddings",
            N_("Embeddings"),
            "python",
            _openai_client(base)
            + "\nresponse = client.embeddings.create(\n"
            + f'    model="{model}",\n'
            + '    input=["LiteMaaS serves models to workshop attendees."],\n'
            + ")\nvector = response.data[0].embedding\n"
            + 'print(f"{len(vector)} dimensions")\n',
        ),
    ]


def _httpx_header(base: str) -> str:
    return f'import httpx\n\nPROXY = "{base}"\nHEADERS = {{"Authorization": "Bearer {KEY_PLACEHOLDER}"}}\n'


def _tokenize(model: str, base: str) -> list[Example]:
    body = {"model": model, "prompt": "How many tokens is this sentence?"}
    return [
        Example("tokenize-curl", "tokenize", N_("Count tokens"), "curl", _curl("/v1/tokenize", body, base=base)),
        Example(
            "tokenize-python",
            "tokenize",
            N_("Count tokens"),
            "python",
            _httpx_header(base)
            + "\nresponse = httpx.post(\n"
            + '    f"{PROXY}/v1/tokenize",\n'
            + "    headers=HEADERS,\n"
            + f'    json={{"model": "{model}", "prompt": "How many tokens is this sentence?"}},\n'
            + ")\nresponse.raise_for_status()\n"
            + 'print(response.json()["count"], "tokens")\n',
        ),
    ]


def _conversion(model: str, base: str, document_url: str) -> list[Example]:
    body = {"model": model, "sources": [{"kind": "http", "url": document_url}], "options": {"to_formats": ["md"]}}
    upload_curl = (
        f"curl -sS {shlex.quote(base + '/docling/v1/convert/file')} \\\n"
        f'  -H "Authorization: Bearer {KEY_PLACEHOLDER}" \\\n'
        f"  -F model={shlex.quote(model)} \\\n"
        "  -F to_formats=md \\\n"
        f"  -F files=@{UPLOAD_FILE}\n"
    )
    return [
        Example(
            "convert-source-curl",
            "document_conversion",
            N_("Convert a document from a URL"),
            "curl",
            _curl("/docling/v1/convert/source", body, base=base),
        ),
        Example(
            "convert-source-python",
            "document_conversion",
            N_("Convert a document from a URL"),
            "python",
            _httpx_header(base)
            + "\nresponse = httpx.post(\n"
            + '    f"{PROXY}/docling/v1/convert/source",\n'
            + "    headers=HEADERS,\n"
            + "    json={\n"
            + f'        "model": "{model}",\n'
            + f'        "sources": [{{"kind": "http", "url": "{document_url}"}}],\n'
            + '        "options": {"to_formats": ["md"]},\n'
            + "    },\n"
            + "    timeout=300,\n"
            + ")\nresponse.raise_for_status()\n"
            + 'print(response.json()["document"]["md_content"])\n',
        ),
        Example("convert-file-curl", "document_conversion", N_("Convert an uploaded file"), "curl", upload_curl),
        Example(
            "convert-file-python",
            "document_conversion",
            N_("Convert an uploaded file"),
            "python",
            _httpx_header(base)
            + f'\nwith open("{UPLOAD_FILE}", "rb") as document:\n'
            + "    response = httpx.post(\n"
            + '        f"{PROXY}/docling/v1/convert/file",\n'
            + "        headers=HEADERS,\n"
            + f'        data={{"model": "{model}", "to_formats": "md"}},\n'
            + f'        files={{"files": ("{UPLOAD_FILE}", document)}},\n'
            + "        timeout=300,\n"
            + "    )\nresponse.raise_for_status()\n"
            + 'print(response.json()["document"]["md_content"])\n',
        ),
    ]


def _safety(model: str, base: str) -> list[Example]:
    messages = [{"role": "user", "content": "How do I bake bread at home?"}]
    guarded = {"model": model, "messages": messages, "guardrails": [GUARDRAIL]}
    return [
        Example(
            "safety-curl",
            "safety",
            N_("Classify a conversation"),
            "curl",
            _curl("/v1/chat/completions", {"model": model, "messages": messages}, base=base),
        ),
        Example(
            "safety-python",
            "safety",
            N_("Classify a conversation"),
            "python",
            _openai_client(base)
            + "\nresponse = client.chat.completions.create(\n"
            + f'    model="{model}",\n'
            + '    messages=[{"role": "user", "content": "How do I bake bread at home?"}],\n'
            + ')\n# "safe", or "unsafe" and the hazard category (for example S9) on the next line\n'
            + "print(response.choices[0].message.content)\n",
        ),
        Example(
            "guardrail-curl",
            "safety",
            N_("Screen a request with the guardrail"),
            "curl",
            _curl("/v1/chat/completions", guarded, base=base),
        ),
        Example(
            "guardrail-python",
            "safety",
            N_("Screen a request with the guardrail"),
            "python",
            _openai_client(base)
            + "\n# An unsafe request is refused with a 400 naming the hazard category.\n"
            + "response = client.chat.completions.create(\n"
            + f'    model="{model}",\n'
            + '    messages=[{"role": "user", "content": "How do I bake bread at home?"}],\n'
            + f'    extra_body={{"guardrails": ["{GUARDRAIL}"]}},\n'
            + ")\nprint(response.choices[0].message.content)\n",
        ),
    ]


def for_model(model: str, capabilities: Iterable[str], *, proxy_url: str, document_url: str) -> list[ExampleSet]:
    """The examples for each capability ``model`` has, in the catalog's capability order."""
    base = proxy_url.rstrip("/")
    builders = {
        "chat": lambda: _chat(model, base),
        "embeddings": lambda: _embeddings(model, base),
        "tokenize": lambda: _tokenize(model, base),
        "document_conversion": lambda: _conversion(model, base, document_url),
        "safety": lambda: _safety(model, base),
    }
    tags = list(capabilities)
    return [ExampleSet(tag, builders[tag]()) for tag in tags if tag in builders]
