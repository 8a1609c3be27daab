"""Upload checks for branding images: type by content (never by name or label), size, integrity.

Rasters (png, jpeg, gif, webp) are decoded by Pillow in full: the format Pillow reads must be the
one the magic bytes announce and the label (when given) states; a file that ends early is
``image_truncated``; bytes after the image's end, or HTML/script markup anywhere in the file, are
``image_polyglot``. SVGs go through ``svg.sanitize_svg`` and are stored as its output.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageSequence, UnidentifiedImageError

from litemaas.branding.errors import ImageRefused
from litemaas.branding.svg import sanitize_svg

__all__ = ["CONTENT_TYPES", "MAX_IMAGE_BYTES", "CheckedImage", "check_image", "sniff"]

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# A logo larger than this on a side is a mistake (or a decompression bomb).
MAX_SIDE = 4096
_MAX_FRAMES = 300

PNG, JPEG, GIF, WEBP, SVG = "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"
CONTENT_TYPES = (PNG, JPEG, GIF, WEBP, SVG)
_PILLOW_FORMATS = {PNG: "PNG", JPEG: "JPEG", GIF: "GIF", WEBP: "WEBP"}
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG, "image/svg": SVG}
# Labels that say nothing about the content (a browser that does not know the file's type).
_UNLABELLED = {"", "application/octet-stream", "binary/octet-stream"}
# Markup a browser sniffing the file could run: never inside a stored raster.
_MARKUP = (b"<script", b"<html", b"<!doctype", b"<svg", b"<iframe", b"<body", b"<object", b"<embed", b"<?php")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """An accepted image: its type (by content) and the bytes to store and serve."""

    content_type: str
    data: bytes


def _label(declared: str | None) -> str | None:
    if declared is None:
        return None
    media = declared.split(";", 1)[0].strip().lower()
    if media in _UNLABELLED:
        return None
    return _ALIASES.get(media, media)


def sniff(data: bytes) -> str | None:
    """The image type the content announces (magic bytes, or XML text for SVG), else None."""
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")):
        return SVG
    return None


def check_image(data: bytes, declared: str | None) -> CheckedImage:
    """The image to store, or ``ImageRefused`` naming the problem (``declared``: the upload's label)."""
    if not data:
        raise ImageRefused("the upload is empty", code="image_empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(
            f"the image is {len(data)} bytes: at most {MAX_IMAGE_BYTES} bytes (2 MB)", code="image_too_large"
        )
    label = _label(declared)
    if label is not None and label not in CONTENT_TYPES:
        raise ImageRefused(f"{label} is not accepted: png, jpeg, gif, webp or svg", code="image_unsupported_type")
    detected = sniff(data)
    if detected is None and label == SVG and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        # Markup labelled SVG (an HTML page, say): the sanitiser says what in it is not an SVG.
        detected = SVG
    if detected is None:
        if label is not None:
            raise ImageRefused(f"labelled {label} but the content is not an image", code="image_type_mismatch")
        raise ImageRefused("the content is not a png, jpeg, gif, webp or svg image", code="image_unsupported_type")
    if label is not None and label != detected:
        raise ImageRefused(f"labelled {label} but the content is {detected}", code="image_type_mismatch")
    if detected == SVG:
        return CheckedImage(SVG, sanitize_svg(data))
    _check_raster(data, detected)
    return CheckedImage(detected, data)


def _decode(data: bytes, content_type: str) -> str | None:
    """Decode every frame with Pillow; the failure's text, or None when the image decodes."""
    fmt = _PILLOW_FORMATS[content_type]
    try:
        with Image.open(BytesIO(data), formats=[fmt]) as image:
            if image.format != fmt:
                raise ImageRefused(f"the content is {image.format}, not {fmt}", code="image_type_mismatch")
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise ImageRefused(
                    f"the image is {width}x{height} pixels: at most {MAX_SIDE} on a side", code="image_dimensions"
                )
            image.verify()
        with Image.open(BytesIO(data), formats=[fmt]) as image:
            for index, frame in enumerate(ImageSequence.Iterator(image)):
                frame.load()
                if index >= _MAX_FRAMES:
                    break
    except Image.DecompressionBombError:
        raise ImageRefused("the image has too many pixels", code="image_dimensions") from None
    except UnidentifiedImageError:
        return f"Pillow does not read it as {fmt}"
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _png_end(data: bytes) -> int | None:
    """Offset just after the IEND chunk, None when the chunks run out first."""
    offset = len(_PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        offset += 12 + length
        if offset > len(data):
            return None
        if kind == b"IEND":
            return offset
    return None


def _end_of_image(data: bytes, content_type: str) -> int | None:
    """Where the image's own structure ends (its end marker), None when it has none (cut short)."""
    if content_type == PNG:
        return _png_end(data)
    if content_type == JPEG:
        end = data.rfind(b"\xff\xd9")
        return end + 2 if end >= 0 else None
    if content_type == GIF:
        end = data.rfind(b"\x3b")
        return end + 1 if end >= 0 else None
    declared = int.from_bytes(data[4:8], "little") + 8
    declared += declared % 2  # RIFF chunks are padded to an even length
    return declared if declared <= len(data) else None


def _check_raster(data: bytes, content_type: str) -> None:
    failure = _decode(data, content_type)
    end = _end_of_image(data, content_type)
    if failure is not None:
        if end is None or "truncat" in failure.lower():
            raise ImageRefused(f"the {content_type} image is truncated ({failure})", code="image_truncated")
        raise ImageRefused(f"the {content_type} image cannot be decoded ({failure})", code="image_invalid")
    if end is None:
        raise ImageRefused(f"the {content_type} image is truncated (no end marker)", code="image_truncated")
    if data[end:].strip(b"\x00\r\n"):
        raise ImageRefused(
            f"{len(data) - end} bytes follow the end of the {content_type} image (a polyglot file?)",
            code="image_polyglot",
        )
    lowered = data.lower()
    for marker in _MARKUP:
        if marker in lowered:
            raise ImageRefused(
                f"the {content_type} file also holds {marker.decode()}... markup (a polyglot file)",
                code="image_polyglot",
            )
