"""The portal's branding texts (one row): title, subtitle and footer text set in the admin console."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin

# The only row's id: the branding is one document, a constraint keeps it so.
BRANDING_ROW = 1


class Branding(TimestampMixin, Base):
    __tablename__ = "branding"
    __table_args__ = (CheckConstraint(f"id = {BRANDING_ROW}", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False, default=BRANDING_ROW)
    title: Mapped[str | None] = mapped_column(String(200))
    subtitle: Mapped[str | None] = mapped_column(String(500))
    footer_text: Mapped[str | None] = mapped_column(String(500))
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
