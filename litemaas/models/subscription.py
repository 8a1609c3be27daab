"""A user's subscription to one model (one row per user and model, reused on resubscribe)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin, UUIDPk

SUBSCRIPTION_STATUSES = ("pending", "active", "denied", "cancelled")


class Subscription(UUIDPk, TimestampMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("user_id", "model_id"),
        CheckConstraint("status IN ('pending', 'active', 'denied', 'cancelled')", name="status"),
        # The admin queue: filter by status, newest first.
        Index("ix_subscriptions_status_updated_at", "status", "updated_at"),
        Index("ix_subscriptions_model_id_status", "model_id", "status"),
    )

    # The unique (user_id, model_id) index also serves lookups by user.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalog_models.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    # Reason of the last transition (denial reason, "model deleted", ...).
    status_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
