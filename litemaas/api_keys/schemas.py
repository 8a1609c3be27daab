"""API key payloads. A full secret appears only in ``CreatedKeyOut`` (creation and rotation)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from litemaas.kit.bounds import DurationText, ShortText
from litemaas.litellm_admin import KeyLimits
from litemaas.settings_admin.schemas import ApiKeySettings


class KeyLimitsIn(KeyLimits):
    """Limits a caller may ask for; unset ones take the admin defaults (rules: ``limits``)."""

    model_config = ConfigDict(extra="forbid")

    # Key lifetime as a LiteLLM duration ("30d"); unset = the default lifetime (or none).
    duration: DurationText | None = None


class KeyCreateIn(KeyLimitsIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "alias": "laptop",
                    "models": ["granite-3-2-8b-instruct"],
                    "rpm_limit": 60,
                    "tpm_limit": 100000,
                    "max_budget": 5.0,
                    "soft_budget": 4.0,
                    "budget_duration": "30d",
                    "max_parallel_requests": 4,
                    "duration": "30d",
                }
            ]
        },
    )

    alias: str = Field(min_length=1, max_length=64)
    models: list[ShortText] = Field(min_length=1, max_length=100)


class KeyUpdateIn(KeyLimitsIn):
    """Only the fields sent change; a limit sent as null goes back to its default."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"alias": "ci-runner", "rpm_limit": 120, "max_budget": 10.0}]}
    )

    alias: str | None = Field(default=None, min_length=1, max_length=64)
    models: list[ShortText] | None = Field(default=None, min_length=1, max_length=100)


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


class KeyUsage(BaseModel):
    """Live figures from LiteLLM (absent when LiteLLM could not be reached)."""

    spend: float
    max_budget: float | None
    budget_remaining: float | None
    soft_budget: float | None
    budget_reset_at: datetime | None
    last_used_at: datetime | None


class KeyOut(KeyLimits):
    id: uuid.UUID
    user_id: uuid.UUID
    alias: str
    # "sk-…abcd": enough to recognise a key, never enough to use it.
    display: str
    last4: str
    status: str
    models: list[str]
    # Models LiteLLM currently grants: models ∩ active subscriptions.
    effective_models: list[str]
    expires_at: datetime | None
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None
    usage: KeyUsage | None = None


class KeyListOut(BaseModel):
    items: list[KeyOut]
    # False when LiteLLM could not be asked for spend (keys are still listed).
    usage_available: bool


class CreatedKeyOut(KeyOut):
    """Returned once, on creation or rotation: the only time the full secret leaves the server."""

    key: str


class KeyFormLimits(BaseModel):
    """What the key form needs: the admin defaults and maximums, and the caller's cap."""

    settings: ApiKeySettings
    max_active_keys: int
    active_keys: int


class BulkKeyResult(BaseModel):
    id: uuid.UUID
    ok: bool
    error: str | None = None
