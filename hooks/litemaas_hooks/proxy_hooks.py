"""The ``litellm_settings.callbacks`` entry point: capability validation + capability routes.

``capability_hooks`` refuses, with a 400 before any upstream call, every call this proxy does
not serve (deny by default, see ``endpoints``) and every call whose endpoint does not match the
model's capabilities (chat on an embeddings or docling model, embeddings on a chat model,
rerank/images/audio/... on anything). It checks twice:

- ``async_pre_call_hook``: on every route that runs LiteLLM's request pipeline;
- ``async_pre_call_deployment_hook``: on every LiteLLM model call, right before it leaves for
  the chosen deployment. This also covers routes that skip the pipeline, e.g. LiteLLM's
  provider pass-through (``/vllm/{path}`` with a router model) which would otherwise reach any
  path of a model server without capability check or guardrail.

Importing this module also mounts the tokenize/docling routes and the request-body bound,
because LiteLLM resolves callback paths during config load, inside the app's startup, and
offers no other configuration hook that can add routes or middleware.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import ProxyException

from litemaas_hooks import body_limit, catalog, endpoints, redaction, routes


class CapabilityHooks(CustomLogger):
    """Pre-call and pre-deployment hooks: only served endpoints, only on models that serve them."""

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        endpoint = endpoints.resolve(call_type, data)
        model = data.get("model")
        if endpoint is None:
            raise ProxyException(
                message=_not_served(endpoints.describe(call_type, data), model),
                type="invalid_request_error",
                param="model",
                code=400,
            )
        if not isinstance(model, str):
            return None  # LiteLLM itself refuses these endpoints without a model
        found = catalog.capabilities(model)
        if found is None or found & endpoint.serves:
            return None
        raise ProxyException(
            message=catalog.rejection(model, endpoint.path, found),
            type="invalid_request_error",
            param="model",
            code=400,
        )

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any], call_type: Any) -> dict[str, Any] | None:
        name = endpoints.call_type_name(call_type)
        endpoint = endpoints.CALL_TYPES.get(name)
        model = _model_group(kwargs)
        if endpoint is None:
            raise _refused(_not_served(f"call type '{name or 'unknown'}'", model))
        found = _deployment_capabilities(kwargs)
        if found is not None and not found & endpoint.serves:
            raise _refused(catalog.rejection(model or "?", endpoint.path, found))
        return None


def _not_served(endpoint: str, model: object) -> str:
    served = ", ".join(sorted({e.path for e in endpoints.CALL_TYPES.values()}))
    named = f"model '{model}'" if isinstance(model, str) else "any model"
    return (
        f"{endpoint} is not served for {named} on this proxy. "
        f"Served: {served}, /v1/tokenize, /v1/detokenize, /docling/v1/convert/*."
    )


def _model_group(kwargs: Mapping[str, Any]) -> str | None:
    for field in ("metadata", "litellm_metadata"):
        metadata = kwargs.get(field)
        group = metadata.get("model_group") if isinstance(metadata, Mapping) else None
        if isinstance(group, str):
            return group
    model = kwargs.get("model")
    return model if isinstance(model, str) else None


def _deployment_capabilities(kwargs: Mapping[str, Any]) -> frozenset[str] | None:
    # The router puts the chosen deployment's model_info (with its id) into the call's kwargs;
    # the capabilities are read from the router's own copy of that deployment.
    info = kwargs.get("model_info")
    model_id = info.get("id") if isinstance(info, Mapping) else None
    if isinstance(model_id, str):
        found = catalog.deployment_capabilities(model_id)
        if found is not None:
            return found
    group = _model_group(kwargs)
    return catalog.capabilities(group) if group is not None else None


class NotServed(ProxyException):
    """400 for a model call this proxy does not serve, raised from inside LiteLLM's call path."""

    # The router neither retries nor counts an error whose status_code is a client 4xx, and the
    # proxy renders ProxyException as it is, also on routes that have no error handling of their own.
    status_code: Final = 400


def _refused(message: str) -> NotServed:
    return NotServed(message=message, type="invalid_request_error", param="model", code=400)


capability_hooks: Final = CapabilityHooks()
routes.install()
body_limit.install()
redaction.install()
