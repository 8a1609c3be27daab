"""A LiteLLM virtual key owned by a user. Only LiteLLM's token hash and the last 4 characters are kept."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin, UUIDPk


class ApiKey(UUIDPk, TimestampMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'revoked')", name="status"),
        CheckConstraint("purpose IN ('user', 'playground')", name="purpose"),
        # One live key per alias and user; concurrent double-creates collide here.
        Index(
            "uq_api_keys_user_id_alias_active",
            "user_id",
            "alias",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_api_keys_user_id_status", "user_id", "status"),
        # At most one live playground key per user.
        Index(
            "uq_api_keys_user_id_playground_active",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'active' AND purpose = 'playground'"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(64))
    # sha256 hex of the current secret = LiteLLM's token id.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # "user": a key its owner holds; "playground": the backend's key for the owner's playground
    # calls, whose secret is derived when needed and never stored (see playground/).
    purpose: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    tpm_limit: Mapped[int | None] = mapped_column(Integer)
    rpm_limit: Mapped[int | None] = mapped_column(Integer)
    max_budget: Mapped[float | None] = mapped_column(Float)
    budget_duration: Mapped[str | None] = mapped_column(String(16))
    soft_budget: Mapped[float | None] = mapped_column(Float)
    max_parallel_requests: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
