"""FastAPI access to the process-wide LiteLLM admin client (created in the app lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from litemaas.config import Settings
from litemaas.errors import LiteMaaSError, UpstreamUnavailable
from litemaas.litellm_admin.client import LiteLLMAdminClient
from litemaas.litellm_admin.daily_spend import LiteLLMDailySpend
from litemaas.litellm_admin.errors import LiteLLMError, LiteLLMUnavailable


class UpstreamRejected(LiteMaaSError):
    """LiteLLM refused a change LiteMaaS had already validated (502)."""

    status = 502
    code = "upstream_rejected"


def upstream_error(exc: LiteLLMError) -> LiteMaaSError:
    """The HTTP error for a LiteLLM failure: 503 when it could not answer, else 502."""
    if isinstance(exc, LiteLLMUnavailable):
        return UpstreamUnavailable("LiteLLM is unavailable; nothing was changed, try again shortly")
    return UpstreamRejected(f"LiteLLM refused the change: {exc.message}")


def create_client(settings: Settings) -> LiteLLMAdminClient:
    """The client configured from settings (proxy URL + master key)."""
    if settings.master_key is None:
        raise RuntimeError("LITEMAAS_MASTER_KEY is required to talk to LiteLLM")
    return LiteLLMAdminClient(settings.proxy_url, settings.master_key.get_secret_value())


def get_litellm_admin(request: Request) -> LiteLLMAdminClient:
    client: LiteLLMAdminClient | None = getattr(request.app.state, "litellm_admin", None)
    if client is None:
        raise UpstreamUnavailable("LiteLLM is not configured (LITEMAAS_MASTER_KEY is not set)")
    return client


LiteLLMAdmin = Annotated[LiteLLMAdminClient, Depends(get_litellm_admin)]


def create_daily_spend(settings: Settings) -> LiteLLMDailySpend | None:
    """The reader of LiteLLM's daily spend (None when LiteLLM's database URL is not configured)."""
    if not settings.litellm_database_url:
        return None
    return LiteLLMDailySpend(settings.litellm_database_url)


def get_litellm_daily_spend(request: Request) -> LiteLLMDailySpend | None:
    reader: LiteLLMDailySpend | None = getattr(request.app.state, "litellm_daily_spend", None)
    return reader


OptionalLiteLLMDailySpend = Annotated[LiteLLMDailySpend | None, Depends(get_litellm_daily_spend)]
