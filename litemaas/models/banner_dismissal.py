"""A user's dismissal of a dismissible banner (remembered across sessions and browsers)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base
from litemaas.kit.time import utcnow


class BannerDismissal(Base):
    __tablename__ = "banner_dismissals"

    # user first: a page asks "which of these banners did this user dismiss".
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    banner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("banners.id", ondelete="CASCADE"), primary_key=True)
    dismissed_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
