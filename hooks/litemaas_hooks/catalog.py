"""Typed view of the proxy's model list: capabilities, prices and the deployment to call.

Capabilities come from ``model_info.capabilities`` in ``litellm_config/`` (or from models an
admin added through ``/model/new`` with the same ``model_info``). A model without that list
is treated as LiteLLM treats it: ``mode: embedding`` means embeddings, anything else chat,
and it gets no additive tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from litellm import get_llm_provider

CHAT: Final = "chat"
EMBEDDINGS: Final = "embeddings"
DOCUMENT_CONVERSION: Final = "document_conversion"
SAFETY: Final = "safety"
TOKENIZE: Final = "tokenize"
PRIMARY: Final = frozenset({CHAT, EMBEDDINGS, DOCUMENT_CONVERSION, SAFETY})


class CatalogError(Exception):
    """The requested model cannot serve the request (rendered as a 4xx by the caller)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Deployment:
    """One concrete upstream for a public model name."""

    public_name: str
    backend_model: str  # the name the model server knows (provider prefix removed)
    provider: str
    api_base: str | None
    api_key: str | None
    model_id: str | None
    litellm_params: Mapping[str, Any]
    model_info: Mapping[str, Any]

    @property
    def server_root(self) -> str:
        """``api_base`` without a trailing ``/v1``: vLLM's ``/tokenize`` and docling-serve live there."""
        base = (self.api_base or "").rstrip("/")
        return base.removesuffix("/v1")

    def price(self, name: str) -> float | None:
        for source in (self.litellm_params, self.model_info):
            value = source.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        return None


def _capabilities_from_info(model_info: Mapping[str, Any]) -> frozenset[str]:
    declared = model_info.get("capabilities")
    if isinstance(declared, Sequence) and not isinstance(declared, str):
        return frozenset(str(c) for c in declared)
    return frozenset({EMBEDDINGS if model_info.get("mode") == "embedding" else CHAT})


def _router() -> Any:
    from litellm.proxy import proxy_server  # noqa: PLC0415  proxy_server builds LiteLLM's whole app on import: reached only inside the running proxy

    return proxy_server.llm_router


def _deployments(model: str) -> list[Any]:
    router = _router()
    if router is None:
        return []
    found = router.get_model_list(model_name=model)
    return list(found or [])


def capabilities(model: str) -> frozenset[str] | None:
    """Union of the capabilities of the model group's deployments; None if unknown here."""
    deployments = _deployments(model)
    if not deployments:
        return None
    result: frozenset[str] = frozenset()
    for deployment in deployments:
        info = deployment.get("model_info") or {}
        result |= _capabilities_from_info(info if isinstance(info, Mapping) else {})
    return result


def deployment_capabilities(model_id: str) -> frozenset[str] | None:
    """Capabilities of one deployment (by LiteLLM's model id); None if the router has no such id."""
    router = _router()
    deployment = router.get_model_info(id=model_id) if router is not None else None
    if not isinstance(deployment, Mapping):
        return None
    info = deployment.get("model_info") or {}
    return _capabilities_from_info(info if isinstance(info, Mapping) else {})


def require(model: str, capability: str, endpoint: str) -> frozenset[str]:
    """Raise ``CatalogError`` unless ``model`` exists here and has ``capability``."""
    found = capabilities(model)
    if found is None:
        raise CatalogError(f"Model '{model}' is not available on this proxy.", 400)
    if capability not in found:
        raise CatalogError(rejection(model, endpoint, found), 400)
    return found


def rejection(model: str, endpoint: str, found: frozenset[str]) -> str:
    suggestion = {
        CHAT: "/v1/chat/completions",
        SAFETY: "/v1/chat/completions",
        EMBEDDINGS: "/v1/embeddings",
        DOCUMENT_CONVERSION: "/docling/v1/convert/source or /docling/v1/convert/file",
    }
    hints = sorted({suggestion[c] for c in found & PRIMARY})
    hint = f" Use {' or '.join(hints)} for this model." if hints else ""
    return f"Model '{model}' does not support {endpoint} (capabilities: {', '.join(sorted(found)) or 'none'}).{hint}"


async def pick_deployment(model: str, request_kwargs: dict[str, Any]) -> Deployment:
    """Let LiteLLM's router choose the deployment (routing strategy, cooldowns, limits)."""
    router = _router()
    if router is None:
        raise CatalogError("The proxy has no models configured.", 503)
    chosen = await router.async_get_available_deployment(model=model, request_kwargs=request_kwargs)
    params: Mapping[str, Any] = chosen.get("litellm_params") or {}
    info: Mapping[str, Any] = chosen.get("model_info") or {}
    litellm_model = str(params.get("model") or model)
    backend, provider, _, _ = get_llm_provider(
        model=litellm_model,
        custom_llm_provider=params.get("custom_llm_provider"),
        api_base=params.get("api_base"),
    )
    api_key = params.get("api_key")
    return Deployment(
        public_name=model,
        backend_model=str(backend),
        provider=str(provider),
        api_base=params.get("api_base"),
        api_key=api_key if isinstance(api_key, str) and api_key else None,
        model_id=info.get("id"),
        litellm_params=params,
        model_info=info,
    )
