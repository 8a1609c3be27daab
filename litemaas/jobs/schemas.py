"""Shapes of the jobs API: job runs, key cleanup reports and exemptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JOB_NAMES = ("reconcile", "cleanup-keys", "backup")


class JobRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    job: str
    started_at: datetime
    finished_at: datetime | None
    status: Literal["running", "succeeded", "failed"]
    counts: dict[str, Any]
    error: str | None
    dry_run: bool
    triggered_by: str


class JobRunPage(BaseModel):
    items: list[JobRunOut]
    total: int
    limit: int
    offset: int


class CleanupItemOut(BaseModel):
    key_id: uuid.UUID
    user_id: uuid.UUID
    username: str
    alias: str
    purpose: str
    action: Literal["delete", "mark_revoked"]
    reason: str
    applied: bool


class CleanupReportOut(BaseModel):
    run_id: uuid.UUID | None
    dry_run: bool
    max_age_days: int
    summary: str
    counts: dict[str, int]
    items: list[CleanupItemOut]
    errors: list[str]


class ExemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class ExemptionOut(BaseModel):
    id: uuid.UUID
    kind: Literal["user", "key"]
    user_id: uuid.UUID | None
    key_id: uuid.UUID | None
    username: str | None
    key_alias: str | None
    reason: str | None
    created_at: datetime
