"""API key limit settings: defaults fill what a user leaves unset, maximums bound what they may ask."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from litemaas.litellm_admin.durations import parse_duration

LIMIT_FIELDS = ("tpm_limit", "rpm_limit", "max_budget", "soft_budget", "max_parallel_requests", "duration")


def _check_duration(value: str | None) -> str | None:
    if value is None:
        return None
    parse_duration(value)
    return value.strip()


def _check_money(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise ValueError("must be a finite number >= 0")
    return value


class KeyLimitMaximums(BaseModel):
    """Upper bounds for user-chosen key limits (``None`` = unbounded)."""

    model_config = ConfigDict(extra="forbid")

    tpm_limit: int | None = Field(default=None, ge=1)
    rpm_limit: int | None = Field(default=None, ge=1)
    max_budget: float | None = None
    soft_budget: float | None = None
    max_parallel_requests: int | None = Field(default=None, ge=1)
    # Longest key lifetime, a LiteLLM duration such as "90d".
    duration: str | None = None

    _money = field_validator("max_budget", "soft_budget")(_check_money)
    _duration = field_validator("duration")(_check_duration)


class KeyLimitDefaults(KeyLimitMaximums):
    """Values applied when a key request leaves a limit unset."""

    budget_duration: str | None = None

    _budget_duration = field_validator("budget_duration")(_check_duration)


class ApiKeySettings(BaseModel):
    """The ``api_keys`` settings document."""

    model_config = ConfigDict(extra="forbid")

    defaults: KeyLimitDefaults = Field(default_factory=KeyLimitDefaults)
    maximums: KeyLimitMaximums = Field(default_factory=KeyLimitMaximums)
    max_active_keys_per_user: int = Field(default=10, ge=1, le=1000)


def first_inconsistency(settings: ApiKeySettings) -> tuple[str, str] | None:
    """``(field, message)`` of the first default above its maximum, else ``None``."""
    for name in LIMIT_FIELDS:
        default = getattr(settings.defaults, name)
        maximum = getattr(settings.maximums, name)
        if default is None or maximum is None:
            continue
        above = parse_duration(default) > parse_duration(maximum) if name == "duration" else default > maximum
        if above:
            return f"defaults.{name}", f"defaults.{name} ({default}) exceeds maximums.{name} ({maximum})"
    return None
