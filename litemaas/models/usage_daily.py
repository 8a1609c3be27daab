"""Usage per day × key token × LiteLLM user × model × provider × endpoint, copied from LiteLLM.

A day's rows are replaced as a whole when the day is fetched again (``usage_days``). ``user_id``
and ``key_id`` are resolved through ``api_key_tokens`` (every hash a key ever had), so rotated,
revoked and deleted keys keep their history; both are NULL for a key LiteMaaS did not issue.
No foreign keys: the history outlives whatever it names, and a day of rows is written in bulk.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, Float, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base


class UsageDaily(Base):
    __tablename__ = "usage_daily"
    __table_args__ = (
        Index("ix_usage_daily_user_id_day", "user_id", "day"),
        Index("ix_usage_daily_key_id_day", "key_id", "day"),
        # Rows of keys not (yet) known: attributed again when their hash shows up in api_key_tokens.
        Index("ix_usage_daily_unattributed", "token_hash", postgresql_where=text("key_id IS NULL")),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # LiteLLM's token id (sha256 of the key); never returned by the API in full.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(128), primary_key=True)
    # The LiteLLM user the key belonged to ("" when none): the owner shown for foreign keys.
    litellm_user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[uuid.UUID | None]
    key_id: Mapped[uuid.UUID | None]
    requests: Mapped[int] = mapped_column(BigInteger)
    successful_requests: Mapped[int] = mapped_column(BigInteger)
    failed_requests: Mapped[int] = mapped_column(BigInteger)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    # USD, as LiteLLM computed it (double precision, like LiteLLM's own column).
    spend: Mapped[float] = mapped_column(Float)
    response_time_ms: Mapped[int] = mapped_column(BigInteger)
    timed_requests: Mapped[int] = mapped_column(BigInteger)
