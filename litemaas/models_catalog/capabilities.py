"""Model capabilities: one primary (which endpoint the model answers) plus additive tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Capability:
    name: str
    label: str
    color: str
    primary: bool


CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        Capability("chat", "Chat", "#0066cc", True),
        Capability("embeddings", "Embeddings", "#3e8635", True),
        Capability("document_conversion", "Document conversion", "#ec7a08", True),
        Capability("safety", "Safety", "#8476d1", True),
        Capability("tokenize", "Tokenize", "#f4511e", False),
        Capability("vision", "Vision", "#009596", False),
        Capability("function_calling", "Function calling", "#6a6e73", False),
    )
}
PRIMARY = tuple(name for name, c in CAPABILITIES.items() if c.primary)
ADDITIVE = tuple(name for name, c in CAPABILITIES.items() if not c.primary)

# LiteLLM's model_info "mode" → our primary capability.
_MODE_TO_PRIMARY = {
    "chat": "chat",
    "completion": "chat",
    "responses": "chat",
    "embedding": "embeddings",
    "embeddings": "embeddings",
    "document_conversion": "document_conversion",
    "ocr": "document_conversion",
    "moderation": "safety",
    "safety": "safety",
}
_ALIASES = {"embedding": "embeddings", "docling": "document_conversion", "guard": "safety", "tools": "function_calling"}


def normalize(tags: Iterable[str]) -> list[str]:
    """Known capabilities, deduplicated, primary first (at most one primary; chat when none)."""
    seen: list[str] = []
    for raw in tags:
        name = _ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name in CAPABILITIES and name not in seen:
            seen.append(name)
    primaries = [n for n in seen if CAPABILITIES[n].primary]
    primary = primaries[0] if primaries else "chat"
    return [primary, *[n for n in seen if not CAPABILITIES[n].primary]]


def _tag_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []


def from_model_info(model_info: Mapping[str, Any]) -> list[str]:
    """Capability tags of a LiteLLM deployment, from its ``model_info``.

    Explicit tags (``capabilities`` / ``litemaas_capabilities``) win; otherwise the primary
    comes from ``mode`` and additive tags from ``supports_*`` flags.
    """
    explicit = _tag_list(model_info.get("litemaas_capabilities")) or _tag_list(model_info.get("capabilities"))
    tags: list[str] = []
    if explicit:
        tags.extend(explicit)
    else:
        mode = str(model_info.get("mode") or "chat").lower()
        tags.append(_MODE_TO_PRIMARY.get(mode, "chat"))
    for flag, tag in (
        ("supports_tokenize", "tokenize"),
        ("supports_vision", "vision"),
        ("supports_function_calling", "function_calling"),
    ):
        if model_info.get(flag) is True:
            tags.append(tag)
    return normalize(tags)


def labels(tags: Iterable[str]) -> list[dict[str, str | bool]]:
    return [
        {"name": c.name, "label": c.label, "color": c.color, "primary": c.primary}
        for c in (CAPABILITIES[t] for t in tags if t in CAPABILITIES)
    ]


def has_token_prices(tags: Iterable[str]) -> bool:
    """Document conversion is priced per request/page, so token prices and max tokens do not apply."""
    return "document_conversion" not in list(tags)[:1]
