"""Branding in and out: the texts an admin sets, the images' descriptions, what the public endpoint serves."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

TITLE_MAX = 200
SUBTITLE_MAX = 500
FOOTER_MAX = 500


class ImageSlot(StrEnum):
    """Where an image is shown: the login page, the masthead in the light and in the dark theme."""

    LOGIN_LOGO = "login_logo"
    LOGO_LIGHT = "logo_light"
    LOGO_DARK = "logo_dark"


def _clean_text(value: str | None) -> str | None:
    """Trimmed text, ``None`` when blank; no control characters (a line break is allowed)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if any((not ch.isprintable()) and ch != "\n" for ch in text.replace("\r\n", "\n")):
        raise ValueError("must be printable text")
    return text.replace("\r\n", "\n")


class BrandingTextIn(BaseModel):
    """The texts; a field left out or blank goes back to the portal's default."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "ACME AI", "subtitle": "Models for everyone", "footer_text": None}]},
    )

    title: str | None = Field(default=None, max_length=TITLE_MAX)
    subtitle: str | None = Field(default=None, max_length=SUBTITLE_MAX)
    footer_text: str | None = Field(default=None, max_length=FOOTER_MAX)

    _text = field_validator("title", "subtitle", "footer_text")(_clean_text)


class ImageInfo(BaseModel):
    """A stored image (its bytes are served by ``url``, which changes with the image)."""

    slot: ImageSlot
    content_type: str
    size: int
    sha256: str
    url: str
    updated_at: datetime


class BrandingOut(BaseModel):
    """The branding as the public endpoint serves it (``None``: the portal's default)."""

    title: str | None
    subtitle: str | None
    footer_text: str | None
    images: dict[ImageSlot, ImageInfo | None]
    updated_at: datetime | None


class StoredImage(BaseModel):
    """An image's bytes, as served."""

    slot: ImageSlot
    content_type: str
    sha256: str
    data: bytes
