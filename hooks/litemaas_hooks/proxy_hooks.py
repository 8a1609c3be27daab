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

from litemaas_hooks import catalog, routes

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


capability_hooks: Final = CapabilityHooks()
routes.install()
