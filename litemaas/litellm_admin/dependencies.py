"""FastAPI access to the process-wide LiteLLM admin client (created in the app lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from litemaas.config import Settings
from litemaas.errors import UpstreamUnavailable
from litemaas.kit.app_state import AppSlot
from litemaas.litellm_admin.client import LiteLLMAdminClient
from litemaas.litellm_admin.daily_spend import LiteLLMDailySpend


def create_client(settings: Settings) -> LiteLLMAdminClient:
    """The client configured from settings (proxy URL + master key)."""
    if settings.master_key is None:
        raise RuntimeError("LITEMAAS_MASTER_KEY is required to talk to LiteLLM")
    return LiteLLMAdminClient(settings.proxy_url, settings.master_key.get_secret_value())


# None when LITEMAAS_MASTER_KEY is not set: the app still serves what needs no LiteLLM.
LITELLM_ADMIN = AppSlot[LiteLLMAdminClient | None]("litellm_admin")


def get_optional_litellm_admin(request: Request) -> LiteLLMAdminClient | None:
    """The process-wide client, or None when LiteLLM is not configured (override this one in tests)."""
    return LITELLM_ADMIN.get(request.app)


OptionalLiteLLMAdmin = Annotated[LiteLLMAdminClient | None, Depends(get_optional_litellm_admin)]


def get_litellm_admin(client: OptionalLiteLLMAdmin) -> LiteLLMAdminClient:
    if client is None:
        raise UpstreamUnavailable("LiteLLM is not configured (LITEMAAS_MASTER_KEY is not set)")
    return client


LiteLLMAdmin = Annotated[LiteLLMAdminClient, Depends(get_litellm_admin)]


# None when LITEMAAS_LITELLM_DATABASE_URL is not set: usage refreshes then answer 503.
LITELLM_DAILY_SPEND = AppSlot[LiteLLMDailySpend | None]("litellm_daily_spend")


def create_daily_spend(settings: Settings) -> LiteLLMDailySpend | None:
    """The reader of LiteLLM's daily spend (None when LiteLLM's database URL is not configured)."""
    if not settings.litellm_database_url:
        return None
    return LiteLLMDailySpend(settings.litellm_database_url)


def get_litellm_daily_spend(request: Request) -> LiteLLMDailySpend | None:
    reader = LITELLM_DAILY_SPEND.get(request.app)
    return reader


OptionalLiteLLMDailySpend = Annotated[LiteLLMDailySpend | None, Depends(get_litellm_daily_spend)]
