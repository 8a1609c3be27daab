"""API key limit settings: defaults fill what a user leaves unset, maximums bound what they may ask.

Every value uses the bounds of the key columns it ends up in (``litemaas.kit.bounds``): a default
beyond them would make every key creation fail, so it can never be stored.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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


class KeyCleanupSettings(BaseModel):
    """The ``key_cleanup`` settings document (``None``: the ``LITEMAAS_KEY_CLEANUP_MAX_AGE_DAYS`` default)."""

    model_config = ConfigDict(extra="forbid")

    max_age_days: int | None = Field(default=None, ge=1, le=3650)


# --------------------------------------------------------------------------- portal settings

_MAX_RPM = 1_000_000
_MAX_TPM = 1_000_000_000
_MAX_TOKENS = 10_000_000
_URL_SCHEMES = ("http://", "https://")


def _check_public_url(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    parts = urlsplit(text)
    if not text.lower().startswith(_URL_SCHEMES) or not parts.hostname or "@" in parts.netloc:
        raise ValueError("must be an http(s) URL with a host and no user information")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):  # noqa: PLR2004  control characters
        raise ValueError("must not contain spaces or control characters")
    return text.rstrip("/")


def _check_label(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text or any(not ch.isprintable() for ch in text):
        raise ValueError("must be printable text")
    return text


class PortalSettingsIn(BaseModel):
    """What an admin overrides; ``None`` falls back to the deployment's environment value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"playground_rpm_limit": 30, "public_proxy_url": "https://ai.example.com"}]},
    )

    playground_rpm_limit: int | None = Field(default=None, ge=1, le=_MAX_RPM)
    playground_tpm_limit: int | None = Field(default=None, ge=1, le=_MAX_TPM)
    playground_max_tokens: int | None = Field(default=None, ge=1, le=_MAX_TOKENS)
    # The proxy address shown in the portal's examples.
    public_proxy_url: str | None = Field(default=None, max_length=500)
    # How amounts are labelled where prices and spend are shown ("USD", "EUR", ...) and their symbol.
    currency_label: str | None = Field(default=None, max_length=16)
    currency_symbol: str | None = Field(default=None, max_length=4)

    _url = field_validator("public_proxy_url")(_check_public_url)
    _label = field_validator("currency_label", "currency_symbol")(_check_label)


class PortalValues(BaseModel):
    """The values in force (an override, else the environment's default)."""

    playground_rpm_limit: int
    playground_tpm_limit: int
    playground_max_tokens: int
    public_proxy_url: str
    currency_label: str
    currency_symbol: str


class PortalSettingsOut(BaseModel):
    """``effective``: what the portal uses; ``overrides``: what is stored; ``defaults``: the environment."""

    effective: PortalValues
    overrides: PortalSettingsIn
    defaults: PortalValues
