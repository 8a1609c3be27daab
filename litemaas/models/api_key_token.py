"""Every token hash a key has had (rotation issues new ones), so usage stays attributable."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base
from litemaas.kit.time import utcnow


class ApiKeyToken(Base):
    __tablename__ = "api_key_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last4: Mapped[str] = mapped_column(String(4))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    retired_at: Mapped[datetime | None]
