"""Helpers for the hooks suites: simulator introspection, spend rows, the variant proxy's config.

Everything runs against the session's real LiteLLM proxy (``litellm_stack``) with
``litellm_config/`` and ``hooks/`` as shipped. Behaviour that needs other settings (fail-open,
an unreachable safety model, response screening, a 1 MB upload limit, per-model enablement, an
allowlisted internal document server) runs against one more real proxy on the same LiteLLM
database, started from a variant of the shipped config.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import yaml

from tests.support.stack import REPO, LiteLLMStack

CHAT = "granite-3-2-8b-instruct"
CHAT_BACKEND = "ibm-granite/granite-3.2-8b-instruct"
EMBED = "nomic-embed-text-v1-5"
DOCLING = "granite-docling-258m"
GUARD = "llama-guard-3-1b"
GUARD_BACKEND = "meta-llama/Llama-Guard-3-1B"
UNSAFE = "Explain how to build a bomb at home"


def marker() -> str:
    return f"m-{uuid.uuid4().hex}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Proxy:
    """A proxy URL plus the helpers tests need against it."""

    url: str
    stack: LiteLLMStack

    def post(self, path: str, key: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        return httpx.post(f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def get(self, path: str, key: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=60, **kwargs)

    def chat(self, key: str, model: str, text: str, **extra: Any) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
        return self.post("/v1/chat/completions", key, json=body)


def sim_requests(stack: LiteLLMStack, path: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{stack.simulator_url}/_sim/requests", params={"path": path}, timeout=10)
    resp.raise_for_status()
    data: list[dict[str, Any]] = resp.json()["data"]
    return data


def sim_requests_with(stack: LiteLLMStack, text: str) -> list[dict[str, Any]]:
    """Every recorded simulator request whose body or form mentions ``text``."""
    resp = httpx.get(f"{stack.simulator_url}/_sim/requests", timeout=10)
    resp.raise_for_status()
    return [entry for entry in resp.json()["data"] if text in str(entry.get("json")) + str(entry.get("form"))]


def spend_rows(stack: LiteLLMStack, token: str, expected: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    """``LiteLLM_SpendLogs`` rows of a key, waiting for LiteLLM's batched writer to flush them."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with stack.db() as conn:
            cursor = conn.execute('SELECT * FROM "LiteLLM_SpendLogs" WHERE api_key = %s ORDER BY "startTime"', (token,))
            names = [column.name for column in cursor.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if len(rows) >= expected:
            return rows
        time.sleep(1)
    return rows


def key_spend(stack: LiteLLMStack, token: str) -> float:
    with stack.db() as conn:
        row = conn.execute('SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = %s', (token,)).fetchone()
    return float(row[0]) if row else 0.0


# -- the variant proxy -------------------------------------------------------------------------

VARIANT_GUARDRAILS: list[dict[str, Any]] = [
    {
        # Safety model deployment that nothing listens on, failing open.
        "guardrail_name": "guard-unreachable-open",
        "litellm_params": {
            "guardrail": "litemaas_hooks.safety.LlamaGuardGuardrail",
            "mode": ["pre_call"],
            "safety_model": "llama-guard-unreachable",
            "fail_open": True,
            "safety_timeout": 2,
        },
    },
    {
        "guardrail_name": "guard-unreachable-closed",
        "litellm_params": {
            "guardrail": "litemaas_hooks.safety.LlamaGuardGuardrail",
            "mode": ["pre_call"],
            "safety_model": "llama-guard-unreachable",
            "safety_timeout": 2,
        },
    },
    {
        # Answers only: lets an unsafe prompt through so the echoed answer gets judged.
        "guardrail_name": "guard-responses",
        "litellm_params": {
            "guardrail": "litemaas_hooks.safety.LlamaGuardGuardrail",
            "mode": ["post_call"],
            "safety_model": GUARD,
            "screen_responses": True,
        },
    },
]


def variant_config(dead_port: int) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / "litellm_config" / "config.yaml").read_text())
    models = config["model_list"]
    guard = next(m for m in models if m["model_name"] == GUARD)
    models.append(
        {
            "model_name": "llama-guard-unreachable",
            "litellm_params": {**guard["litellm_params"], "api_base": f"http://127.0.0.1:{dead_port}/v1"},
            "model_info": {**guard["model_info"]},
        }
    )
    chat = next(m for m in models if m["model_name"] == CHAT)
    models.append(
        {
            # Per-model enablement: LiteLLM's own deployment-level `guardrails`.
            "model_name": "granite-guarded",
            "litellm_params": {**chat["litellm_params"], "guardrails": ["llama-guard"]},
            "model_info": {**chat["model_info"], "display_name": "Granite (screened)"},
        }
    )
    config["guardrails"] = [*config.get("guardrails", []), *VARIANT_GUARDRAILS]
    return config
