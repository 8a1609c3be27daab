"""Record a capability call through LiteLLM's logging pipeline, as the router does for chat.

The proxy's own success callbacks then do the rest: the DB logger writes ``LiteLLM_SpendLogs``
and the daily activity tables, updates key/user spend (so budgets see it) and the rate limiter
counts tokens. The cost is computed here from the deployment's prices and handed over in
``_hidden_params["response_cost"]``, which LiteLLM takes as authoritative
(``Logging._process_hidden_params_and_response_cost``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import litellm
from litellm.litellm_core_utils.get_litellm_params import get_litellm_params

from litemaas_hooks.catalog import Deployment

log: Final = logging.getLogger("litemaas_hooks.usage")
_pending: Final[set[asyncio.Task[None]]] = set()


@dataclass(frozen=True, slots=True)
class Usage:
    """What one call consumed and what it costs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    pages: int = 0
    cost: float = 0.0


def token_cost(deployment: Deployment, prompt_tokens: int, completion_tokens: int = 0) -> float:
    return prompt_tokens * (deployment.price("input_cost_per_token") or 0.0) + completion_tokens * (
        deployment.price("output_cost_per_token") or 0.0
    )


def conversion_cost(deployment: Deployment, pages: int) -> float:
    """Per page when the model has a page price and pages are known, else per request."""
    per_page = deployment.price("cost_per_page") or deployment.price("ocr_cost_per_page")
    if per_page is not None and pages > 0:
        return pages * per_page
    return deployment.price("cost_per_request") or 0.0


def attach_deployment(
    logging_obj: Any, data: dict[str, Any], deployment: Deployment, endpoint: str, request_body: Mapping[str, Any]
) -> None:
    """Give the logging object what the router gives it for a chat call (model, key, user, deployment)."""
    metadata = data.setdefault("metadata", {})
    metadata.update(
        {
            "model_group": deployment.public_name,
            "deployment": deployment.litellm_params.get("model"),
            "model_info": dict(deployment.model_info),
            "api_base": deployment.api_base,
            "deployment_model_name": deployment.public_name,
        }
    )
    litellm_params = get_litellm_params(
        api_base=deployment.api_base,
        custom_llm_provider=deployment.provider,
        litellm_call_id=data.get("litellm_call_id"),
        metadata=metadata,
        model_info=dict(deployment.model_info),
        proxy_server_request=data.get("proxy_server_request"),
        allm_passthrough_route=True,
    )
    logging_obj.update_environment_variables(
        model=deployment.backend_model,
        user=data.get("user"),
        optional_params={},
        litellm_params=litellm_params,
        custom_llm_provider=deployment.provider,
        endpoint=endpoint,
        request_data=dict(request_body),
    )


def _result(deployment: Deployment, usage: Usage, call_id: str | None) -> Any:
    result = litellm.ModelResponse(
        id=call_id or "",
        model=deployment.public_name,
        usage=litellm.Usage(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.prompt_tokens + usage.completion_tokens,
        ),
    )
    result._hidden_params = {
        "response_cost": usage.cost,
        "model_id": deployment.model_id,
        "api_base": deployment.api_base,
        "custom_llm_provider": deployment.provider,
        "litemaas_pages": usage.pages,
    }
    return result


def record_success(
    logging_obj: Any, deployment: Deployment, usage: Usage, *, started: datetime, ended: datetime, call_id: str | None
) -> None:
    """Hand the call to LiteLLM's success handlers in the background; never raises."""

    async def run() -> None:
        try:
            await logging_obj.async_success_handler(_result(deployment, usage, call_id), started, ended)
        except Exception:  # logging must never fail the request
            log.exception("litemaas_hooks.usage.record_failed model=%s", deployment.public_name)

    task = asyncio.create_task(run())
    _pending.add(task)
    task.add_done_callback(_pending.discard)
