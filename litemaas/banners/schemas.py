"""Banners in and out. Field rules that need the whole banner (window, link, roles) are the service's."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MESSAGE_MAX = 1000
SEVERITIES = ("info", "warning", "danger", "success")
FORMATS = ("text", "markdown")

BannerStatus = Literal["active", "scheduled", "expired", "disabled"]


class BannerIn(BaseModel):
    """A banner as an admin writes it (create, or replace on update)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "message": "**Maintenance** on Friday 18:00 UTC",
                    "message_format": "markdown",
                    "severity": "warning",
                    "link_url": "https://status.example.com",
                    "ends_at": "2026-12-31T18:00:00Z",
                    "target_roles": ["user"],
                }
            ]
        },
    )

    message: str = Field(min_length=1, max_length=MESSAGE_MAX)
    # "text" (shown as written) or "markdown" (bold, italic, code, http(s) links).
    message_format: str = Field(default="text", max_length=16)
    # info, warning, danger or success.
    severity: str = Field(default="info", max_length=16)
    link_url: str | None = Field(default=None, max_length=2048)
    link_text: str | None = Field(default=None, max_length=200)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Any of user, admin_readonly, admin.
    target_roles: list[str] = Field(default_factory=lambda: ["user", "admin_readonly", "admin"], max_length=10)
    dismissible: bool = True
    enabled: bool = True


class BannerOut(BaseModel):
    id: uuid.UUID
    message: str
    message_format: str
    # The message rendered and sanitised, as the portal shows it.
    message_html: str
    severity: str
    link_url: str | None
    link_text: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    target_roles: list[str]
    dismissible: bool
    enabled: bool
    position: int
    status: BannerStatus
    created_at: datetime
    updated_at: datetime


class VisibleBanner(BaseModel):
    """A banner as the portal shows it to one user."""

    id: uuid.UUID
    message_html: str
    severity: str
    link_url: str | None
    link_text: str | None
    dismissible: bool


class BannerOrderIn(BaseModel):
    """Banner ids in the order to show them; banners not listed follow, in their current order."""

    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class LiveBanner(BaseModel):
    """An enabled banner not yet over (the portal's cached list; role and window are checked per page)."""

    banner: VisibleBanner
    target_roles: frozenset[str]
    starts_at: datetime | None
    ends_at: datetime | None
