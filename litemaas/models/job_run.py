"""One run of an operational job (reconcile, key cleanup, backup): when, how it ended, what it did."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, UUIDPk
from litemaas.kit.time import utcnow


class JobRun(UUIDPk, Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
        Index("ix_job_runs_job_started_at", "job", "started_at"),
    )

    job: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running", server_default="running")
    # Figures of the run (deleted, revoked, kept, ...), the job's own names.
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    error: Mapped[str | None] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # "cli", "cronjob", "api:<username>", ...
    triggered_by: Mapped[str] = mapped_column(String(255))
    triggered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
