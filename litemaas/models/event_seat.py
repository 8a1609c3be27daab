"""One attendee's seat at an event: their key for it and the subscriptions the event activated for them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin, UUIDPk


class EventSeat(UUIDPk, TimestampMixin, Base):
    __tablename__ = "event_seats"
    __table_args__ = (
        # One seat per attendee and event: joining twice finds the same seat.
        UniqueConstraint("event_id", "user_id"),
        CheckConstraint("status IN ('active', 'revoked', 'ended')", name="status"),
        CheckConstraint("source IN ('join', 'api')", name="source"),
        Index("ix_event_seats_user_id", "user_id"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    source: Mapped[str] = mapped_column(String(16), default="join", server_default="join")
    # Models whose subscription this seat made active (the user did not hold them before):
    # these end with the seat, unless another live seat granted them too.
    granted_model_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default="{}")
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(Text)
