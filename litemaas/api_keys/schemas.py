"""API key payloads. A full secret appears only in ``CreatedKeyOut`` (creation and rotation)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from litemaas.settings_admin.schemas import ApiKeySettings


class KeyLimitsIn(BaseModel):
    """Limits a caller may ask for; unset ones take the admin defaults (range checks give 400s)."""

    model_config = ConfigDict(extra="forbid")

    tpm_limit: int | None = None
    rpm_limit: int | None = None
    max_budget: float | None = None
    budget_duration: str | None = None
    soft_budget: float | None = None
    max_parallel_requests: int | None = None
    # Key lifetime as a LiteLLM duration ("30d"); unset = the default lifetime (or none).
    duration: str | None = None


class KeyCreateIn(KeyLimitsIn):
    alias: str = Field(min_length=1, max_length=64)
    models: list[str] = Field(min_length=1, max_length=100)


class KeyUpdateIn(KeyLimitsIn):
    """Only the fields sent change; a limit sent as null goes back to its default."""

    alias: str | None = Field(default=None, min_length=1, max_length=64)
    models: list[str] | None = Field(default=None, min_length=1, max_length=100)


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


class KeyOut(BaseModel):
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
    tpm_limit: int | None
    rpm_limit: int | None
    max_budget: float | None
    budget_duration: str | None
    soft_budget: float | None
    max_parallel_requests: int | None
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


class UserLimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_budget: float | None = None
    budget_duration: str | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    max_active_keys: int | None = Field(default=None, ge=1, le=1000)


class UserLimitsOut(UserLimitsIn):
    user_id: uuid.UUID
    spend: float | None = None


class BulkKeyResult(BaseModel):
    id: uuid.UUID
    ok: bool
    error: str | None = None
