"""A user who hosts one event: manages that event only (attendees, seats, limits), never the platform."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, func
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base
from litemaas.kit.time import utcnow


class EventHost(Base):
    __tablename__ = "event_hosts"
    # "Which events does this user host" (the nav, the host check).
    __table_args__ = (Index("ix_event_hosts_user_id", "user_id"),)

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
