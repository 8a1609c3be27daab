"""Errors of the branding domain (HTTP status and JSON ``error`` code in each class)."""

from __future__ import annotations

from litemaas.errors import BadRequest, NotFound


class ImageRefused(BadRequest):
    """An upload that is not an acceptable image; ``code`` names the problem, ``field`` is ``image``.

    Codes: ``image_empty``, ``image_too_large``, ``image_unsupported_type``, ``image_type_mismatch``,
    ``image_truncated``, ``image_invalid``, ``image_dimensions``, ``image_polyglot``, ``svg_refused``.
    """

    code = "image_refused"

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code, field="image")


class SvgRefused(ImageRefused):
    """An SVG holding something the sanitiser does not let through (script, handlers, references, DTD)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="svg_refused")


class BrandingImageNotFound(NotFound):
    code = "branding_image_not_found"
