"""One status transition of a subscription (who, which action, from, to, why)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, UUIDPk
from litemaas.kit.time import utcnow


class SubscriptionHistory(UUIDPk, Base):
    __tablename__ = "subscription_history"
    __table_args__ = (Index("ix_subscription_history_subscription_id_occurred_at", "subscription_id", "occurred_at"),)

    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
