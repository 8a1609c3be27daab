"""Subscription payloads. No payload carries a status: every change is a named action."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Model name (as used with the API) or catalog id.
    model: str = Field(min_length=1, max_length=255)
    reason: str | None = Field(default=None, max_length=2000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class BulkDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "deny"]
    ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    reason: str | None = Field(default=None, max_length=2000)


class ModelRef(BaseModel):
    id: uuid.UUID
    name: str
    display_name: str
    restricted: bool
    capabilities: list[str]
    available: bool


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    username: str
    model: ModelRef
    status: str
    status_reason: str | None
    decided_by_id: uuid.UUID | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime


class HistoryOut(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor_id: uuid.UUID | None
    actor_label: str
    reason: str | None
    occurred_at: datetime


class BulkItemOut(BaseModel):
    id: uuid.UUID
    ok: bool
    status: str | None = None
    error: str | None = None
    detail: str | None = None


class BulkOut(BaseModel):
    action: str
    succeeded: int
    failed: int
    # LiteLLM key updates the batch made (one per key whose models changed, whatever the batch size).
    keys_updated: int = 0
    results: list[BulkItemOut]


class CountersOut(BaseModel):
    pending: int
    approved_today: int
    denied_today: int


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The queue's filters; each tuple is "any of" (empty: no filter on that field)."""

    statuses: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # model names or ids
    users: tuple[str, ...] = ()  # usernames or user ids
    since: datetime | None = None
    until: datetime | None = None


class GrantIn(BaseModel):
    """Give a user a model directly (no approval request); ``reason`` goes to the history and audit."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"model": "llama-guard-3-1b"}]})

    model: str = Field(min_length=1, max_length=255)
    reason: str | None = Field(default=None, max_length=2000)
