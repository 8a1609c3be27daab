"""API key limit settings: defaults fill what a user leaves unset, maximums bound what they may ask.

Every value uses the bounds of the key columns it ends up in (``litemaas.kit.bounds``): a default
beyond them would make every key creation fail, so it can never be stored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from litemaas.kit.bounds import DurationText, Money, PositiveInt32
from litemaas.litellm_admin.durations import parse_duration


def _check_duration(value: str | None) -> str | None:
    if value is None:
        return None
    parse_duration(value)
    return value


class KeyLimitMaximums(BaseModel):
    """Upper bounds for user-chosen key limits (``None`` = unbounded)."""

    model_config = ConfigDict(extra="forbid")

    tpm_limit: PositiveInt32 | None = None
    rpm_limit: PositiveInt32 | None = None
    max_budget: Money | None = None
    soft_budget: Money | None = None
    max_parallel_requests: PositiveInt32 | None = None
    # Longest key lifetime, a LiteLLM duration such as "90d".
    duration: DurationText | None = None

    _duration = field_validator("duration")(_check_duration)


class KeyLimitDefaults(KeyLimitMaximums):
    """Values applied when a key request leaves a limit unset."""

    budget_duration: DurationText | None = None

    _budget_duration = field_validator("budget_duration")(_check_duration)


class ApiKeySettings(BaseModel):
    """The ``api_keys`` settings document."""

    model_config = ConfigDict(extra="forbid")

    defaults: KeyLimitDefaults = Field(default_factory=KeyLimitDefaults)
    maximums: KeyLimitMaximums = Field(default_factory=KeyLimitMaximums)
    max_active_keys_per_user: int = Field(default=10, ge=1, le=1000)


def first_inconsistency(settings: ApiKeySettings) -> tuple[str, str] | None:
    """``(field, message)`` of the first default above its maximum, else ``None``."""
    for name in KeyLimitMaximums.model_fields:
        default = getattr(settings.defaults, name)
        maximum = getattr(settings.maximums, name)
        if default is None or maximum is None:
            continue
        above = parse_duration(default) > parse_duration(maximum) if name == "duration" else default > maximum
        if above:
            return f"defaults.{name}", f"defaults.{name} ({default}) exceeds maximums.{name} ({maximum})"
    # What a key asking for nothing gets (a default, else the maximum) must be a valid key.
    soft = settings.defaults.soft_budget if settings.defaults.soft_budget is not None else settings.maximums.soft_budget
    hard = settings.defaults.max_budget if settings.defaults.max_budget is not None else settings.maximums.max_budget
    if soft is not None and hard is not None and soft > hard:
        return "defaults.soft_budget", f"the default soft_budget ({soft}) exceeds the default max_budget ({hard})"
    return None
