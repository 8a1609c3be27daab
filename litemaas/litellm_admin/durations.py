"""LiteLLM's duration strings ("30s", "15m", "12h", "30d", "2w", "1mo")."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d{1,6})(s|m|h|d|w|mo)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "mo": 30 * 86_400}
# LiteLLM adds a duration to the current time: "999999mo" would land past the year 9999 and make
# it fail with a 500. A century is longer than any key or budget period anyone needs.
MAX_SECONDS = 100 * 365 * 86_400


def parse_duration(value: str) -> int:
    """Seconds in ``value``; a month counts 30 days. ``ValueError`` when the format is not LiteLLM's."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise ValueError(f"invalid duration {value!r}: use a number followed by s, m, h, d, w or mo (e.g. 30d)")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"invalid duration {value!r}: must be positive")
    if seconds > MAX_SECONDS:
        raise ValueError(f"invalid duration {value!r}: at most 100 years (36500d)")
    return seconds


def is_duration(value: str) -> bool:
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True
