"""Branding routes: public reads (with ETag and cache headers) and admin changes.

Images are served with their checked type, ``nosniff`` and a CSP that lets an SVG opened on its
own neither run nor load anything (``sandbox``), so even a sanitiser miss could not script the site.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.branding import service
from litemaas.branding.dependencies import BrandingWriter, PortalBrandingCache
from litemaas.branding.errors import ImageRefused
from litemaas.branding.images import MAX_IMAGE_BYTES
from litemaas.branding.schemas import BrandingOut, BrandingTextIn, ImageInfo, ImageSlot
from litemaas.db import Session

router = APIRouter(prefix="/branding", tags=["branding"])
admin_router = APIRouter(prefix="/admin/branding", tags=["branding"])

IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
BRANDING_CACHE_CONTROL = "public, max-age=60"
# A versioned image URL (``?v=<hash>``) never changes meaning; an unversioned one is revalidated soon.
IMAGE_CACHE_CONTROL = "public, max-age=300"
VERSIONED_CACHE_CONTROL = "public, max-age=31536000, immutable"

Slot = Annotated[ImageSlot, Path(description="login_logo, logo_light or logo_dark")]


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


def _branding_response(request: Request, branding: BrandingOut) -> Response:
    body = branding.model_dump_json().encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": BRANDING_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("", response_model=BrandingOut, dependencies=[require(Permission.PUBLIC)])
async def get_public_branding(request: Request, session: Session, cache: PortalBrandingCache) -> Response:
    """Title, subtitle, footer text and image addresses (``null``: the portal's default)."""
    return _branding_response(request, await service.portal_branding(session, cache))


@router.get(
    "/images/{slot}",
    dependencies=[require(Permission.PUBLIC)],
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}, 304: {}, 404: {}},
)
async def get_image(request: Request, slot: Slot, session: Session, cache: PortalBrandingCache) -> Response:
    """The image's bytes (an SVG as sanitised on upload)."""
    version = request.query_params.get("v")

    def headers(sha256: str) -> dict[str, str]:
        versioned = bool(version) and sha256.startswith(version or "")
        return {
            "ETag": f'"{sha256}"',
            "Cache-Control": VERSIONED_CACHE_CONTROL if versioned else IMAGE_CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": IMAGE_CSP,
        }

    # The cached description answers a revalidation without reading the image's bytes.
    known = (await service.portal_branding(session, cache)).images[slot]
    if known is not None and _etag_matches(request, f'"{known.sha256}"'):
        return Response(status_code=304, headers=headers(known.sha256))
    image = await service.get_image(session, slot)
    if _etag_matches(request, f'"{image.sha256}"'):
        return Response(status_code=304, headers=headers(image.sha256))
    return Response(image.data, media_type=image.content_type, headers=headers(image.sha256))


@admin_router.get("", response_model=BrandingOut, dependencies=[require(Permission.ADMIN_READ)])
async def get_branding(session: Session) -> BrandingOut:
    return await service.get_branding(session)


@admin_router.put("", response_model=BrandingOut)
async def put_branding(
    session: Session, body: BrandingTextIn, principal: BrandingWriter, cache: PortalBrandingCache
) -> BrandingOut:
    """Replace the texts (a field left out or blank goes back to the portal's default)."""
    return await service.update_texts(session, actor=principal, texts=body, cache=cache)


async def _read_upload(request: Request) -> bytes:
    """The request body, refused as soon as it passes the size limit (never read whole first)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
        raise ImageRefused(f"the image is {declared} bytes: at most {MAX_IMAGE_BYTES} bytes (2 MB)", "image_too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMAGE_BYTES:
            raise ImageRefused(f"the image is over {MAX_IMAGE_BYTES} bytes (2 MB)", "image_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


@admin_router.put(
    "/images/{slot}",
    response_model=ImageInfo,
    openapi_extra={"requestBody": {"required": True, "content": {"image/png": {}, "image/svg+xml": {}}}},
)
async def put_image(
    request: Request, slot: Slot, session: Session, principal: BrandingWriter, cache: PortalBrandingCache
) -> ImageInfo:
    """Store an image (the body, labelled with its Content-Type): png, jpeg, gif, webp or svg, at most 2 MB.

    The type is checked by content; an SVG is sanitised. A refused upload is a 400 whose ``error``
    names the problem (``image_too_large``, ``image_type_mismatch``, ``image_truncated``, ``svg_refused``, ...).
    """
    data = await _read_upload(request)
    declared = request.headers.get("content-type")
    return await service.put_image(session, actor=principal, slot=slot, data=data, declared_type=declared, cache=cache)


@admin_router.delete("/images/{slot}", status_code=204)
async def delete_image(slot: Slot, session: Session, principal: BrandingWriter, cache: PortalBrandingCache) -> Response:
    """Remove an image: the portal goes back to its default for that place."""
    await service.delete_image(session, actor=principal, slot=slot, cache=cache)
    return Response(status_code=204)
