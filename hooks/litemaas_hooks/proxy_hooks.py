"""The ``litellm_settings.callbacks`` entry point: capability validation + capability routes.

``capability_hooks`` rejects, with a 400 before any upstream call, requests whose endpoint
does not match the model's capabilities (chat on an embeddings or docling model, embeddings on
a chat model). Importing this module also mounts the tokenize/docling routes, because LiteLLM
resolves callback paths during config load, inside the app's startup, and offers no other
configuration hook that can add routes.
"""

from __future__ import annotations

from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import ProxyException

from litemaas_hooks import catalog, redaction, routes
from litemaas_hooks.settings import HookSettings

# LiteLLM's own `max_request_size_mb` is an Enterprise feature in 1.106.12; without a bound a
# client could push any body through to the model servers.
_MAX_REQUEST_BYTES: Final = HookSettings.from_env().max_request_bytes

# call_type (as LiteLLM names it in async_pre_call_hook) -> (capabilities that may serve it, endpoint)
_CHAT: Final = (frozenset({catalog.CHAT, catalog.SAFETY}), "/v1/chat/completions")
_REQUIRED: Final[dict[str, tuple[frozenset[str], str]]] = {
    "completion": _CHAT,
    "acompletion": _CHAT,
    "text_completion": (_CHAT[0], "/v1/completions"),
    "atext_completion": (_CHAT[0], "/v1/completions"),
    "responses": (_CHAT[0], "/v1/responses"),
    "aresponses": (_CHAT[0], "/v1/responses"),
    "anthropic_messages": (_CHAT[0], "/v1/messages"),
    "aanthropic_messages": (_CHAT[0], "/v1/messages"),
    "embedding": (frozenset({catalog.EMBEDDINGS}), "/v1/embeddings"),
    "embeddings": (frozenset({catalog.EMBEDDINGS}), "/v1/embeddings"),
    "aembedding": (frozenset({catalog.EMBEDDINGS}), "/v1/embeddings"),
}


class CapabilityHooks(CustomLogger):
    """Pre-call hook: the endpoint must match one of the model's capabilities."""

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        _reject_oversized(data)
        required = _REQUIRED.get(str(call_type))
        model = data.get("model")
        if required is None or not isinstance(model, str):
            return None
        found = catalog.capabilities(model)
        allowed, endpoint = required
        if found is None or found & allowed:
            return None
        raise ProxyException(
            message=catalog.rejection(model, endpoint, found), type="invalid_request_error", param="model", code=400
        )


def _reject_oversized(data: dict[str, Any]) -> None:
    request = data.get("proxy_server_request")
    headers = request.get("headers") if isinstance(request, dict) else None
    if not isinstance(headers, dict):
        return
    raw = next((v for k, v in headers.items() if str(k).lower() == "content-length"), None)
    try:
        size = int(raw) if raw is not None else 0
    except (TypeError, ValueError):
        return
    if size > _MAX_REQUEST_BYTES:
        raise ProxyException(
            message=f"request body is {size} bytes; the limit is {_MAX_REQUEST_BYTES} bytes",
            type="invalid_request_error",
            param="content-length",
            code=413,
        )


capability_hooks: Final = CapabilityHooks()
routes.install()
redaction.install()
