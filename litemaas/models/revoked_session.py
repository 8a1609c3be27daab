"""Logged-out browser sessions: kept in the database so every replica (and a restart) refuses them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base


class RevokedSession(Base):
    __tablename__ = "revoked_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No token of the session can be valid after this; the row is pruned then.
    expires_at: Mapped[datetime] = mapped_column(index=True)
