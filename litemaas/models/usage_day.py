"""One cached day of usage: when it was fetched from LiteLLM and whether it is final."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base


class UsageDay(Base):
    __tablename__ = "usage_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    fetched_at: Mapped[datetime]
    # Fetched after the day ended and the grace period passed: never fetched again (but by rebuild).
    final: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    rows: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # How often the day was read from LiteLLM.
    fetches: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Rows, requests, tokens and spend of the last fetch: LiteLLM's counters only grow, so an
    # equal fingerprint means nothing new arrived and the day's rows are left as they are.
    fingerprint: Mapped[str] = mapped_column(String(128), default="", server_default="")
    # When the day's rows last changed (a new fetch with new data, or a key attributed later):
    # cached analytics are keyed on the latest of these.
    changed_at: Mapped[datetime]
