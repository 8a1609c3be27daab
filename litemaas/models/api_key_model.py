"""A model the owner put on a key. LiteLLM gets (these) ∩ (the owner's active subscriptions)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base


class ApiKeyModel(Base):
    __tablename__ = "api_key_models"

    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_models.id", ondelete="CASCADE"), primary_key=True, index=True
    )
