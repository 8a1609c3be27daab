"""Events in and out: the admin's event, seats, the host's view of attendees and their usage."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

NAME_MAX = 200
DESCRIPTION_MAX = 5000
CAPACITY_MAX = 100_000
SEATS_MAX = 1000
INT32_MAX = 2**31 - 1

EventStatus = Literal["scheduled", "open", "ended"]


def _utc(value: datetime) -> datetime:
    # A time without a zone is read as UTC (the forms say so).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class EventLimits(BaseModel):
    """Per-attendee key limits (None = not limited)."""

    model_config = ConfigDict(extra="forbid")

    rpm_limit: int | None = Field(default=None, ge=1, le=INT32_MAX)
    tpm_limit: int | None = Field(default=None, ge=1, le=INT32_MAX)
    max_budget: float | None = Field(default=None, ge=0, le=1e9)

    @field_validator("max_budget")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite amount")
        return value


class EventIn(EventLimits):
    """An event as an admin creates it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "RAG workshop",
                    "models": ["granite-3-2-8b-instruct", "nomic-embed-text-v1-5"],
                    "starts_at": "2026-12-01T09:00:00Z",
                    "ends_at": "2026-12-01T17:00:00Z",
                    "capacity": 50,
                    "rpm_limit": 30,
                    "tpm_limit": 20000,
                    "max_budget": 5,
                    "hosts": ["alice"],
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    models: list[str] = Field(min_length=1, max_length=50)
    starts_at: datetime
    ends_at: datetime
    capacity: int = Field(ge=1, le=CAPACITY_MAX)
    hosts: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _zone(cls, value: datetime) -> datetime:
        return _utc(value)

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        starts = info.data.get("starts_at")
        if isinstance(starts, datetime) and value <= starts:
            raise ValueError("must be after starts_at")
        return value


class EventUpdateIn(EventLimits):
    """Fields to change (only those sent). A new ``ends_at`` moves every seat's key expiry (extend or shorten)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = Field(default=None, ge=1, le=CAPACITY_MAX)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        return _utc(value) if value is not None else None


class HostsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    usernames: list[str] = Field(max_length=50)


class SeatsIn(BaseModel):
    """Seats for lab environments: ``count`` new lab users, or seats for these existing ``usernames``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"count": 20}, {"usernames": ["bob"]}]})

    count: int | None = Field(default=None, ge=1, le=SEATS_MAX)
    usernames: list[str] | None = Field(default=None, min_length=1, max_length=SEATS_MAX)

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.count is None) == (self.usernames is None):
            raise ValueError("give either count or usernames")
        return self


class EventOut(EventLimits):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    name: str
    description: str
    models: list[str]
    starts_at: datetime
    ends_at: datetime
    capacity: int
    seats_taken: int
    status: EventStatus
    # None once revoked; the join link is ``/events/join/{join_code}``.
    join_code: str | None
    join_path: str | None
    hosts: list[str]
    ended_at: datetime | None
    created_at: datetime


class SeatOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    user_id: uuid.UUID
    username: str
    status: str
    source: str
    key_id: uuid.UUID | None
    # ``sk-…abcd``: the full key is shown once, when the seat is created.
    key_display: str | None
    created_at: datetime


class SeatKeyOut(SeatOut):
    """A seat and, when it was created by this request, its key (shown this once)."""

    key: str | None = Field(default=None, repr=False)
    created: bool


class SeatsOut(BaseModel):
    items: list[SeatKeyOut]


class JoinOut(BaseModel):
    event: EventOut
    seat: SeatKeyOut


class UsageFigures(BaseModel):
    requests: int = 0
    successful_requests: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    spend: float = 0.0


class AttendeeOut(SeatOut):
    rpm_limit: int | None
    tpm_limit: int | None
    max_budget: float | None
    usage: UsageFigures
    # From LiteLLM's request log over the host view's recent window (``HostViewOut.recent_minutes``).
    rate_limited_recently: int = 0
    errors_recently: int = 0


class ModelUsageOut(UsageFigures):
    model: str


class HostViewOut(BaseModel):
    event: EventOut
    attendees: list[AttendeeOut]
    models: list[ModelUsageOut]
    totals: UsageFigures
    # False when LiteLLM's spend could not be read just now: the figures are the last cached ones.
    usage_fresh: bool
    # Who is being rate-limited now: 429s and other failures per attendee over the last minutes.
    recent_minutes: int
    recent_available: bool
