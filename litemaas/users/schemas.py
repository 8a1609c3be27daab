"""Users API payloads."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from litemaas.auth.permissions import Role
from litemaas.kit.bounds import DurationText, Int32, Money, PositiveInt32, SignedMoney
from litemaas.litellm_admin.durations import is_duration


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str | None
    display_name: str | None
    identity_provider: str
    role: Role
    group_role: Role | None
    manual_role: Role | None
    groups: list[str]
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    deactivated_at: datetime | None


class RoleChange(BaseModel):
    """The manually granted role; ``user`` revokes the grant (group-derived roles still apply)."""

    role: Role
    reason: str | None = Field(default=None, max_length=1000)


class ActiveChange(BaseModel):
    is_active: bool
    reason: str | None = Field(default=None, max_length=1000)


class UserLimitsIn(BaseModel):
    """Per-user limits LiteLLM enforces across all of a user's keys, and the user's own key cap."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"max_budget": 50.0, "budget_duration": "30d", "tpm_limit": 200000, "rpm_limit": 300}]
        },
    )

    max_budget: SignedMoney | None = None
    budget_duration: DurationText | None = None
    tpm_limit: Int32 | None = None
    rpm_limit: Int32 | None = None
    max_active_keys: int | None = Field(default=None, ge=1, le=1000)


class UserLimitsOut(BaseModel):
    # Plain types: what is stored is shown, even a value an older release let in beyond today's bounds.
    user_id: uuid.UUID
    max_budget: float | None = None
    budget_duration: str | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    max_active_keys: int | None = None
    spend: float | None = None


class UserDefaults(BaseModel):
    """Limits a new user gets at first login, in LiteLLM and in our row (``None`` = no limit).

    The ``user_defaults`` admin setting. A change applies to users created afterwards; existing
    users keep theirs until an admin applies the defaults to all active users.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"max_budget": 2000.0, "budget_duration": "30d", "tpm_limit": 400000, "rpm_limit": 500}]
        },
    )

    max_budget: Money | None = 2000.0
    budget_duration: DurationText | None = "30d"
    tpm_limit: PositiveInt32 | None = 400_000
    rpm_limit: PositiveInt32 | None = 500
    max_active_keys: int | None = Field(default=None, ge=1, le=1000)

    @field_validator("budget_duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not is_duration(value):
            raise ValueError(f"invalid duration {value!r} (e.g. 30d)")
        return value


class ApplyDefaultsIn(BaseModel):
    """Apply the defaults for new users to every active user (``confirm`` must be true)."""

    model_config = ConfigDict(extra="forbid")

    confirm: bool = False
    reason: str | None = Field(default=None, max_length=1000)


class ApplyResultOut(BaseModel):
    user_id: uuid.UUID
    username: str
    # "applied" (changed), "unchanged" (already had them; LiteLLM set again) or "failed".
    status: str
    error: str | None = None


class ApplyDefaultsOut(BaseModel):
    defaults: UserDefaults
    applied: int
    unchanged: int
    failed: int
    # False when LiteLLM stopped answering part way: the users listed were handled, the rest not tried.
    completed: bool
    results: list[ApplyResultOut]
