"""Usage queries in, analytics out.

Dates and ids arrive as text and are checked by the service, so a malformed one is a 400
naming its field (not a generic validation error).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from litemaas.kit.bounds import Offset
from litemaas.kit.pagination import Page

MAX_RANGE_DAYS = 366
MAX_FILTER_VALUES = 100

DateText = Annotated[str, Field(max_length=32, json_schema_extra={"format": "date"}, examples=["2026-01-31"])]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# A LiteMaaS key id, or "external:<16 hex>" for a key LiteMaaS did not issue.
KeyRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]
UserRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class UsageFilters(BaseModel):
    """What a user may filter their own usage by."""

    model_config = ConfigDict(extra="forbid")

    start_date: DateText = Field(description="First day (YYYY-MM-DD, UTC), inclusive.")
    end_date: DateText = Field(description=f"Last day, inclusive; at most {MAX_RANGE_DAYS} days after start_date.")
    models: list[Name] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    providers: list[Name] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    keys: list[KeyRef] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="Key ids, or 'external:<16 hex>' for keys LiteMaaS did not issue (admins only).",
    )


class AdminUsageFilters(UsageFilters):
    """Admins may also filter by user."""

    users: list[UserRef] = Field(default_factory=list, max_length=MAX_FILTER_VALUES, description="User ids.")


SortField = Literal[
    "spend", "requests", "total_tokens", "prompt_tokens", "completion_tokens", "failed_requests", "name"
]


class BreakdownOptions(BaseModel):
    """How every breakdown (by user, model, provider, key, endpoint) is sorted and paged."""

    sort: SortField = "spend"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=500)
    offset: Offset = 0


class AnalyticsRequest(UsageFilters, BreakdownOptions):
    pass


class AdminAnalyticsRequest(AdminUsageFilters, BreakdownOptions):
    pass


class RebuildRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: DateText
    end_date: DateText


class ExportView(StrEnum):
    """What an export holds: the daily rows, or one breakdown."""

    DAILY = "daily"
    USERS = "users"
    MODELS = "models"
    PROVIDERS = "providers"
    KEYS = "keys"
    ENDPOINTS = "endpoints"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


# --------------------------------------------------------------------------- out


class Metrics(BaseModel):
    requests: int = 0
    successful_requests: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    spend: float = 0.0
    # Mean response time of the timed requests (None when none was timed).
    avg_response_ms: float | None = None


class Trend(BaseModel):
    """Change against the previous period of equal length, in percent (None: nothing to compare)."""

    requests: float | None
    total_tokens: float | None
    spend: float | None


class DayPoint(Metrics):
    date: date


class UserRow(Metrics):
    user_id: uuid.UUID | None
    username: str | None
    # A key LiteMaaS did not issue: ``litellm_user_id`` is the user LiteLLM recorded on it.
    external: bool = False
    litellm_user_id: str | None = None


class ModelRow(Metrics):
    model: str
    display_name: str | None = None
    # No longer offered (deleted, or gone from LiteLLM); its history keeps the name.
    deleted: bool = False


class ProviderRow(Metrics):
    provider: str


class EndpointRow(Metrics):
    endpoint: str


class KeyRow(Metrics):
    key: str
    key_id: uuid.UUID | None
    alias: str | None
    last4: str | None = None
    status: Literal["active", "revoked", "external"]
    user_id: uuid.UUID | None
    username: str | None
    litellm_user_id: str | None = None
    # "playground": the backend's per-user playground key; None for a key LiteMaaS did not issue.
    purpose: Literal["user", "playground"] | None = None


class AnalyticsOut(BaseModel):
    start_date: date
    end_date: date
    previous_start_date: date
    previous_end_date: date
    totals: Metrics
    previous_totals: Metrics
    trend: Trend
    daily: list[DayPoint]
    by_user: Page[UserRow]
    by_model: Page[ModelRow]
    by_provider: Page[ProviderRow]
    by_key: Page[KeyRow]
    by_endpoint: Page[EndpointRow]
    # Latest copy from LiteLLM among the days shown (None: nothing cached yet).
    refreshed_at: datetime | None
    # False when LiteLLM's daily spend could not be read: the figures are the cache as it was.
    source_available: bool


class UserOption(BaseModel):
    user_id: uuid.UUID | None
    username: str | None
    external: bool = False
    litellm_user_id: str | None = None


class ModelOption(BaseModel):
    model: str
    display_name: str | None = None
    deleted: bool = False


class KeyOption(BaseModel):
    key: str
    key_id: uuid.UUID | None
    alias: str | None
    status: Literal["active", "revoked", "external"]
    user_id: uuid.UUID | None
    username: str | None
    purpose: Literal["user", "playground"] | None = None


class FilterOptions(BaseModel):
    """The users, models, providers and keys with usage in a range (deleted ones included)."""

    start_date: date
    end_date: date
    users: list[UserOption]
    models: list[ModelOption]
    providers: list[str]
    keys: list[KeyOption]


class KeyBudget(BaseModel):
    key_id: uuid.UUID
    alias: str
    status: str
    # Live figures from LiteLLM (spend since the key's last budget reset); None when unreachable.
    spend: float | None
    max_budget: float | None
    soft_budget: float | None
    budget_duration: str | None
    budget_remaining: float | None
    budget_reset_at: datetime | None


class UserBudget(BaseModel):
    spend: float | None
    max_budget: float | None
    budget_duration: str | None
    budget_remaining: float | None


class BudgetOut(BaseModel):
    user_id: uuid.UUID
    user: UserBudget
    keys: list[KeyBudget]
    # False when LiteLLM could not be asked: spend figures are missing.
    live: bool


class DayState(BaseModel):
    date: date
    fetched_at: datetime
    final: bool
    rows: int
    fetches: int


class RefreshOut(BaseModel):
    """What a refresh or rebuild did."""

    start_date: date
    end_date: date
    days_fetched: int
    upstream_reads: int
    rows: int
    attributed_rows: int


class UsageStatus(BaseModel):
    source_configured: bool
    today_ttl_seconds: int
    grace_seconds: int
    days_cached: int
    rows_cached: int
    last_refresh_at: datetime | None
    today: DayState | None
    yesterday: DayState | None
