"""A model an event grants its attendees (restricted ones included: the event is the approval)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base


class EventModel(Base):
    __tablename__ = "event_models"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalog_models.id", ondelete="CASCADE"), primary_key=True)
