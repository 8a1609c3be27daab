"""Catalog payloads. Prices are shown per 1M tokens; LiteLLM stores them per token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from litemaas.kit.bounds import Money, PositiveInt32

PER_MILLION = 1_000_000


class CapabilityOut(BaseModel):
    name: str
    label: str
    color: str
    primary: bool


class PricingOut(BaseModel):
    currency: str = "USD"
    # None for document conversion (priced per page) and for unpriced models.
    input_per_million_tokens: float | None
    output_per_million_tokens: float | None
    per_page: float | None


class ModelOut(BaseModel):
    id: uuid.UUID
    name: str
    display_name: str
    description: str | None
    provider: str | None
    context_length: int | None
    max_output_tokens: int | None
    capabilities: list[CapabilityOut]
    primary_capability: str
    pricing: PricingOut
    restricted: bool
    available: bool


class AdminModelOut(ModelOut):
    deleted_at: datetime | None
    litellm_model_ids: list[str]
    # True when the model lives in LiteLLM's database (editable through LiteLLM's model API);
    # False for models defined in the proxy configuration file.
    editable_in_litellm: bool
    synced_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Active and pending subscriptions (the cascade of a delete or a restriction).
    subscribers: int = 0
    pending_subscriptions: int = 0


# A capability tag as stored (``varchar(32)``); unknown ones get a 400 naming them.
CapabilityTag = Annotated[str, StringConstraints(max_length=32)]
Capabilities = Annotated[list[CapabilityTag], Field(max_length=16)]


class ModelCreateIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "granite-3-3-8b-instruct",
                    "litellm_params": {
                        "model": "hosted_vllm/ibm-granite/granite-3.3-8b-instruct",
                        "api_base": "http://granite.models.svc:8000/v1",
                    },
                    "display_name": "Granite 3.3 8B Instruct",
                    "capabilities": ["chat", "tokenize"],
                    "context_length": 131072,
                    "input_price_per_million": 0.2,
                    "output_price_per_million": 0.6,
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-/]*$")
    # LiteLLM routing parameters: at least "model" (e.g. "hosted_vllm/org/model") and usually "api_base".
    litellm_params: dict[str, Any]
    display_name: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    provider: str | None = Field(default=None, max_length=64)
    capabilities: Capabilities = Field(default_factory=lambda: ["chat"])
    context_length: PositiveInt32 | None = None
    max_output_tokens: PositiveInt32 | None = None
    input_price_per_million: Money | None = None
    output_price_per_million: Money | None = None
    price_per_page: Money | None = None
    restricted: bool = False


class ModelUpdateIn(BaseModel):
    """Catalog metadata (always editable) and LiteLLM-side fields (models stored in LiteLLM's database)."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    provider: str | None = Field(default=None, max_length=64)
    restricted: bool | None = None
    capabilities: Capabilities | None = None
    context_length: PositiveInt32 | None = None
    max_output_tokens: PositiveInt32 | None = None
    input_price_per_million: Money | None = None
    output_price_per_million: Money | None = None
    price_per_page: Money | None = None
    litellm_params: dict[str, Any] | None = None


class SyncOut(BaseModel):
    dry_run: bool
    added: list[str]
    updated: list[str]
    removed: list[str]
    ignored_deleted: list[str]
    subscriptions_ended: int


ModelType = Literal["chat", "embeddings", "document_conversion", "safety"]
ConnectionStatus = Literal[
    "found", "not_found", "reachable", "auth_error", "timeout", "unreachable", "redirect_refused", "error"
]


class ConnectionTestIn(BaseModel):
    """A model server to try before saving a model (nothing is stored)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "api_base": "http://granite.models.svc:8000/v1",
                    "model": "hosted_vllm/ibm-granite/granite-3.3-8b-instruct",
                }
            ]
        },
    )

    api_base: str = Field(min_length=1, max_length=2000)
    # The backend's model name (LiteLLM's ``model``, provider prefix allowed).
    model: str = Field(min_length=1, max_length=255)
    api_key: SecretStr | None = Field(default=None, max_length=4096)
    model_type: ModelType = "chat"


class ConnectionTestOut(BaseModel):
    """The verdict only: nothing the model server sent is echoed."""

    status: ConnectionStatus
    # Which endpoint gave the verdict: the model list or the health check.
    checked: Literal["models", "health"]
    http_status: int | None


class ModelImpactOut(BaseModel):
    """What deleting (or restricting) a model would touch."""

    name: str
    active_subscriptions: int
    pending_subscriptions: int
    denied_subscriptions: int
    keys: int
