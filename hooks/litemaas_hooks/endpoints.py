"""Which calls this proxy serves: LiteLLM call type -> public endpoint, capabilities, input shape.

Deny by default: a call type missing here (rerank, moderations, images, audio, batches, files,
fine-tuning, realtime, vector stores, provider pass-through, ...) is not served, whatever the
model. The capability hook refuses it before any upstream call and the safety guardrail treats
it as unreadable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final
from urllib.parse import urlsplit

from litemaas_hooks import catalog

# How the safety guardrail reads a request (see ``screening``).
CHAT_SHAPE: Final = "chat"
ANTHROPIC_SHAPE: Final = "anthropic"
PROMPT_SHAPE: Final = "prompt"
RESPONSES_SHAPE: Final = "responses"
EMBEDDINGS_SHAPE: Final = "embeddings"
CAPABILITY_ROUTE_SHAPE: Final = "capability_route"  # tokenize / docling: caller's own input comes back transformed


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A served endpoint: its public path, the capabilities that serve it, how its input is shaped."""

    path: str
    serves: frozenset[str]
    shape: str


_GENERATION: Final = frozenset({catalog.CHAT, catalog.SAFETY})
_CHAT: Final = Endpoint("/v1/chat/completions", _GENERATION, CHAT_SHAPE)
_COMPLETIONS: Final = Endpoint("/v1/completions", _GENERATION, PROMPT_SHAPE)
_RESPONSES: Final = Endpoint("/v1/responses", _GENERATION, RESPONSES_SHAPE)
_MESSAGES: Final = Endpoint("/v1/messages", _GENERATION, ANTHROPIC_SHAPE)
_EMBEDDINGS: Final = Endpoint("/v1/embeddings", frozenset({catalog.EMBEDDINGS}), EMBEDDINGS_SHAPE)

# Call types as LiteLLM names them in pre-call hooks (route types) and in deployment hooks
# (``CallTypes`` values): sync and async spellings of the same five endpoints.
CALL_TYPES: Final[Mapping[str, Endpoint]] = {
    "completion": _CHAT,
    "acompletion": _CHAT,
    "text_completion": _COMPLETIONS,
    "atext_completion": _COMPLETIONS,
    "responses": _RESPONSES,
    "aresponses": _RESPONSES,
    "anthropic_messages": _MESSAGES,
    "aanthropic_messages": _MESSAGES,
    "embedding": _EMBEDDINGS,
    "embeddings": _EMBEDDINGS,
    "aembedding": _EMBEDDINGS,
}

# Our own routes (``routes.py``) run LiteLLM's pipeline as "allm_passthrough_route"; LiteLLM's
# provider pass-through routes use the same call type and are not served.
PASSTHROUGH_CALL_TYPE: Final = "allm_passthrough_route"
_TOKENIZE_ROUTE: Final = frozenset({catalog.TOKENIZE})
_DOCLING_ROUTE: Final = frozenset({catalog.DOCUMENT_CONVERSION})
CAPABILITY_ROUTES: Final[Mapping[str, frozenset[str]]] = {
    "/v1/tokenize": _TOKENIZE_ROUTE,
    "/v1/detokenize": _TOKENIZE_ROUTE,
}
DOCLING_ROUTE_PREFIX: Final = "/docling/v1/"


def call_type_name(call_type: object) -> str:
    """LiteLLM passes route-type strings to pre-call hooks and ``CallTypes`` members elsewhere."""
    if isinstance(call_type, Enum):
        return str(call_type.value)
    return str(call_type) if call_type is not None else ""


def request_path(data: Mapping[str, Any]) -> str | None:
    """The path the client called, as LiteLLM recorded it in ``proxy_server_request``."""
    request = data.get("proxy_server_request")
    url = request.get("url") if isinstance(request, Mapping) else None
    return urlsplit(url).path if isinstance(url, str) else None


def resolve(call_type: object, data: Mapping[str, Any]) -> Endpoint | None:
    """The endpoint a pre-call hook is looking at, or None when this proxy does not serve it."""
    name = call_type_name(call_type)
    if name != PASSTHROUGH_CALL_TYPE:
        return CALL_TYPES.get(name)
    path = request_path(data)
    if path is None:
        return None
    if path in CAPABILITY_ROUTES:
        return Endpoint(path, CAPABILITY_ROUTES[path], CAPABILITY_ROUTE_SHAPE)
    if path.startswith(DOCLING_ROUTE_PREFIX):
        return Endpoint(path, _DOCLING_ROUTE, CAPABILITY_ROUTE_SHAPE)
    return None


def describe(call_type: object, data: Mapping[str, Any]) -> str:
    """How an error names the endpoint: the path called, else LiteLLM's call type."""
    return request_path(data) or f"call type '{call_type_name(call_type)}'"
