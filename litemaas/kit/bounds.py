"""Input bounds shared by every schema: the ranges of our columns and of LiteLLM's, defined once.

A value outside these ranges cannot be stored (PostgreSQL refuses it, and the request would end
in a 500), so it is refused at the edge: Pydantic turns a violation into a 422 naming the field.
Policy rules inside the storable range (a limit of at least 1, a default below its maximum, ...)
stay with their domain and answer 400.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from litemaas.errors import BadRequest

# PostgreSQL ``integer``: our limit, token and context-length columns, and LiteLLM's
# ``max_parallel_requests`` (its tpm/rpm are ``bigint``, so ours is the tighter bound).
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
# The largest amount of money (USD) a budget or price may carry. Columns are double precision,
# exact to the cent up to about 9e13; nobody needs a budget beyond a trillion.
MONEY_MAX = 1e12

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
"""Any value an ``integer`` column holds (sign rules are the domain's, with a 400)."""
PositiveInt32 = Annotated[int, Field(ge=1, le=INT32_MAX)]
"""A count or limit of at least 1 that fits an ``integer`` column."""
Money = Annotated[float, Field(ge=0, le=MONEY_MAX, allow_inf_nan=False)]
"""A finite amount of money, 0 to ``MONEY_MAX``."""
SignedMoney = Annotated[float, Field(ge=-MONEY_MAX, le=MONEY_MAX, allow_inf_nan=False)]
"""A finite amount within ``MONEY_MAX`` either side of 0 (negative ones get the domain's 400)."""
Offset = Annotated[int, Field(ge=0, le=INT32_MAX)]
"""How many rows a page skips; PostgreSQL's OFFSET is 64-bit, nobody pages past 2**31."""

NAME_LENGTH = 255
ShortText = Annotated[str, StringConstraints(max_length=NAME_LENGTH)]
"""A name or label stored in a ``varchar(255)`` column (model and user names, ...)."""
DurationText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]
"""A LiteLLM duration ("30d") as stored in ``budget_duration varchar(16)``; the format is the domain's check."""


def finite_or_none(value: float | None, *, maximum: float = MONEY_MAX) -> float | None:
    """``value`` when it is finite and within ``maximum`` of 0, else None (unknown)."""
    if value is None or not math.isfinite(value) or abs(value) > maximum:
        return None
    return value


def int32_or_none(value: int | None) -> int | None:
    """``value`` when an ``integer`` column holds it, else None (unknown)."""
    if value is None or not INT32_MIN <= value <= INT32_MAX:
        return None
    return value


def utc_filter(value: datetime | None, field: str) -> datetime | None:
    """A date filter as a UTC instant: 400 naming ``field`` when it has no timezone or leaves the calendar.

    ``9999-12-31T23:59:59-14:00`` is a valid ISO 8601 string whose UTC instant is in the year
    10000, which neither Python nor the database driver can represent.
    """
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadRequest("dates need a timezone (e.g. 2025-01-31T00:00:00Z)", field=field)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"{field} is outside the supported calendar (years 1 to 9999 UTC)", field=field) from None
