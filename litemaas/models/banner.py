"""A message shown across the top of the portal's pages to some roles, within a time window."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin, UUIDPk


class Banner(UUIDPk, TimestampMixin, Base):
    __tablename__ = "banners"
    __table_args__ = (
        CheckConstraint("severity IN ('info', 'warning', 'danger', 'success')", name="severity"),
        CheckConstraint("message_format IN ('text', 'markdown')", name="message_format"),
        CheckConstraint("starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at", name="window"),
        CheckConstraint("cardinality(target_roles) > 0", name="target_roles"),
        Index("ix_banners_position", "position"),
    )

    message: Mapped[str] = mapped_column(Text)
    message_format: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
    severity: Mapped[str] = mapped_column(String(16), default="info", server_default="info")
    link_url: Mapped[str | None] = mapped_column(String(2048))
    link_text: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    target_roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    dismissible: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Display order (ascending); reordering rewrites it.
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
