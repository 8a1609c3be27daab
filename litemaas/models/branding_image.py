"""A branding image (login logo, header logos for the light and dark themes), checked and sanitised on upload."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin


class BrandingImage(TimestampMixin, Base):
    __tablename__ = "branding_images"
    __table_args__ = (
        CheckConstraint("slot IN ('login_logo', 'logo_light', 'logo_dark')", name="slot"),
        CheckConstraint(
            "content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml')",
            name="content_type",
        ),
    )

    slot: Mapped[str] = mapped_column(String(32), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    # The bytes as served: a raster as uploaded (after its checks), an SVG as re-serialised by the sanitiser.
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
