"""Key limits: admin defaults fill unset values, admin maximums bound requested ones (400 naming the field)."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from litemaas.api_keys.errors import InvalidLimit
from litemaas.litellm_admin import KEY_LIMIT_FIELDS
from litemaas.litellm_admin.durations import parse_duration
from litemaas.settings_admin.schemas import ApiKeySettings

# The key's limits plus its lifetime ("duration"), which LiteLLM turns into an expiry.
LIMIT_FIELDS = (*KEY_LIMIT_FIELDS, "duration")
_POSITIVE_INTS = ("tpm_limit", "rpm_limit", "max_parallel_requests")
_MONEY = ("max_budget", "soft_budget")
_DURATIONS = ("budget_duration", "duration")


def _fallback(name: str, settings: ApiKeySettings) -> Any:
    default = getattr(settings.defaults, name, None)
    if default is not None:
        return default
    # With a maximum and no default, "unlimited" would exceed the maximum: use the maximum.
    return getattr(settings.maximums, name, None)


def _check(name: str, value: Any, settings: ApiKeySettings) -> None:
    if value is None:
        return
    if name in _POSITIVE_INTS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidLimit(f"{name} must be a whole number of at least 1", field=name)
    if name in _MONEY and (isinstance(value, bool) or not math.isfinite(float(value)) or float(value) < 0):
        raise InvalidLimit(f"{name} must be a finite amount of at least 0", field=name)
    if name in _DURATIONS:
        try:
            parse_duration(str(value))
        except ValueError as exc:
            raise InvalidLimit(f"{name}: {exc}", field=name) from None
    maximum = getattr(settings.maximums, name, None)
    if maximum is None:
        return
    if name == "duration":
        if parse_duration(str(value)) > parse_duration(str(maximum)):
            raise InvalidLimit(f"duration {value} exceeds the maximum key lifetime {maximum}", field=name)
    elif value > maximum:
        raise InvalidLimit(f"{name} {value} exceeds the maximum {maximum}", field=name)


def resolve(
    requested: Mapping[str, Any],
    settings: ApiKeySettings,
    *,
    current: Mapping[str, Any] | None = None,
    changed: Collection[str] | None = None,
) -> dict[str, Any]:
    """The limits to apply.

    Creation (``current`` is None): every field is the requested value, else its default.
    Update: only ``changed`` fields move; one sent as null returns to its default.
    Only values that move are checked against the maximums, so lowering a maximum does not
    make existing keys uneditable.
    """
    result: dict[str, Any] = dict(current or {})
    moving = LIMIT_FIELDS if current is None else [f for f in LIMIT_FIELDS if f in (changed or ())]
    for name in moving:
        value = requested.get(name)
        if value is None:
            value = _fallback(name, settings)
        _check(name, value, settings)
        result[name] = value
    max_budget, soft_budget = result.get("max_budget"), result.get("soft_budget")
    if max_budget is not None and soft_budget is not None and soft_budget > max_budget:
        raise InvalidLimit(
            f"soft_budget {soft_budget} must not exceed max_budget {max_budget}",
            field="soft_budget" if "soft_budget" in moving else "max_budget",
        )
    return result


def initial_values(settings: ApiKeySettings) -> dict[str, Any]:
    """What a key asking for nothing gets: each limit's default, else its maximum (a form's starting values)."""
    return {name: _fallback(name, settings) for name in LIMIT_FIELDS}
