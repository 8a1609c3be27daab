"""Per-user limits set by an admin: enforced by LiteLLM on the user, and a per-user key cap."""

from __future__ import annotations

import uuid

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin


class UserLimit(TimestampMixin, Base):
    __tablename__ = "user_limits"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    max_budget: Mapped[float | None] = mapped_column(Float)
    budget_duration: Mapped[str | None] = mapped_column(String(16))
    tpm_limit: Mapped[int | None] = mapped_column(Integer)
    rpm_limit: Mapped[int | None] = mapped_column(Integer)
    # Overrides the platform's active-key cap for this user.
    max_active_keys: Mapped[int | None] = mapped_column(Integer)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
