"""Free-text search helpers for SQL ``LIKE`` / ``ILIKE`` filters."""

from __future__ import annotations

LIKE_ESCAPE = "\\"


def escape_like(value: str) -> str:
    """``value`` with ``LIKE`` wildcards escaped (use with ``escape=LIKE_ESCAPE``): a search is literal."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
