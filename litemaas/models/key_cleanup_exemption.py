"""A user or a key an admin keeps out of the key cleanup (exactly one of the two is set)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, UUIDPk
from litemaas.kit.time import utcnow


class KeyCleanupExemption(UUIDPk, Base):
    __tablename__ = "key_cleanup_exemptions"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (key_id IS NULL)", name="one_target"),
        Index("uq_key_cleanup_exemptions_user_id", "user_id", unique=True),
        Index("uq_key_cleanup_exemptions_key_id", "key_id", unique=True),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
