"""A scoped, expiring API token for admin scripts; only its sha256 is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin, UUIDPk


class AdminToken(UUIDPk, TimestampMixin, Base):
    __tablename__ = "admin_tokens"
    __table_args__ = (CheckConstraint("role IN ('admin_readonly', 'admin')", name="role"),)

    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # First characters of the secret, enough to recognise it in a list ("lmt_AbCd").
    display_prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(32))
    # NULL = every permission of the role; otherwise a subset of them.
    scopes: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))
    # The token acts on behalf of this user and never above that user's current role.
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
