"""A model offered in the catalog, mirrored from LiteLLM with our catalog metadata."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin, UUIDPk


class CatalogModel(UUIDPk, TimestampMixin, Base):
    __tablename__ = "catalog_models"

    # LiteLLM's public model name (what clients send as "model"); stable identity across syncs.
    name: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(64))
    context_length: Mapped[int | None] = mapped_column(Integer)
    max_output_tokens: Mapped[int | None] = mapped_column(Integer)
    # USD per token as LiteLLM stores them (shown per 1M tokens).
    input_cost_per_token: Mapped[float | None] = mapped_column(Float)
    output_cost_per_token: Mapped[float | None] = mapped_column(Float)
    # Document conversion is priced per page, not per token.
    cost_per_page: Mapped[float | None] = mapped_column(Float)
    # Primary capability first (chat, embeddings, document_conversion, safety), then additive tags.
    capabilities: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default=text("'{}'"))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Present in LiteLLM at the last sync.
    available: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Set when the model was deleted (here or in LiteLLM); a deleted model is never re-created by sync.
    deleted_at: Mapped[datetime | None]
    litellm_model_ids: Mapped[list[str]] = mapped_column(ARRAY(String(255)), default=list, server_default=text("'{}'"))
    # True when every deployment lives in LiteLLM's database (editable through /model/*).
    litellm_db_model: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    synced_at: Mapped[datetime | None]

    @property
    def primary_capability(self) -> str:
        return self.capabilities[0] if self.capabilities else "chat"

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None and self.available
