"""Reading and changing the branding (audited); the portal reads it through a brief per-process cache."""

from __future__ import annotations

import hashlib
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.branding import repository
from litemaas.branding.errors import BrandingImageNotFound
from litemaas.branding.images import check_image
from litemaas.branding.schemas import BrandingOut, BrandingTextIn, ImageInfo, ImageSlot, StoredImage
from litemaas.db import after_commit
from litemaas.kit.app_state import AppSlot
from litemaas.kit.ttl_cache import TtlValue

log = structlog.get_logger("litemaas.branding")

IMAGE_PATH = "/api/v1/branding/images/"
# How long a replica serves the branding it read: a change made on another replica shows within this.
CACHE_SECONDS = 5.0

BrandingCache = TtlValue[BrandingOut]
BRANDING_CACHE = AppSlot[BrandingCache]("branding_cache")


def new_cache() -> BrandingCache:
    return TtlValue(CACHE_SECONDS)


def image_url(slot: ImageSlot | str, sha256: str) -> str:
    """The image's address; the hash in it changes with the image, so a page never shows an old logo."""
    return f"{IMAGE_PATH}{ImageSlot(slot).value}?v={sha256[:16]}"


async def get_branding(session: AsyncSession) -> BrandingOut:
    texts = await repository.get_texts(session)
    images: dict[ImageSlot, ImageInfo | None] = dict.fromkeys(ImageSlot)
    times: list[datetime] = [texts.updated_at] if texts is not None else []
    for slot, content_type, size, sha256, updated_at in await repository.image_infos(session):
        key = ImageSlot(slot)
        images[key] = ImageInfo(
            slot=key,
            content_type=content_type,
            size=size,
            sha256=sha256,
            url=image_url(key, sha256),
            updated_at=updated_at,
        )
        times.append(updated_at)
    return BrandingOut(
        title=texts.title if texts else None,
        subtitle=texts.subtitle if texts else None,
        footer_text=texts.footer_text if texts else None,
        images=images,
        updated_at=max(times) if times else None,
    )


async def portal_branding(session: AsyncSession, cache: BrandingCache) -> BrandingOut:
    """The branding the portal shows (at most ``CACHE_SECONDS`` old on this replica)."""
    return await cache.get(lambda: get_branding(session))


def _forget_after_commit(session: AsyncSession, cache: BrandingCache | None) -> None:
    if cache is not None:
        after_commit(session, cache.invalidate)


def _texts(value: BrandingOut | BrandingTextIn) -> dict[str, str | None]:
    return {"title": value.title, "subtitle": value.subtitle, "footer_text": value.footer_text}


async def update_texts(
    session: AsyncSession, *, actor: Actor, texts: BrandingTextIn, cache: BrandingCache | None = None
) -> BrandingOut:
    """Replace title, subtitle and footer text (``None``: the portal's default)."""
    before = await get_branding(session)
    await repository.put_texts(
        session, title=texts.title, subtitle=texts.subtitle, footer_text=texts.footer_text, updated_by=actor.user_id
    )
    await audit.record(
        session,
        actor=actor,
        action="branding.update",
        target_type="branding",
        target_id="texts",
        before=_texts(before),
        after=_texts(texts),
    )
    _forget_after_commit(session, cache)
    return await get_branding(session)


def _described(image: ImageInfo | None) -> dict[str, object] | None:
    if image is None:
        return None
    return {"content_type": image.content_type, "size": image.size, "sha256": image.sha256}


async def put_image(
    session: AsyncSession,
    *,
    actor: Actor,
    slot: ImageSlot,
    data: bytes,
    declared_type: str | None,
    cache: BrandingCache | None = None,
) -> ImageInfo:
    """Check (and for SVG sanitise) ``data``, then store it in ``slot``; ``ImageRefused`` names a problem."""
    checked = check_image(data, declared_type)
    digest = hashlib.sha256(checked.data).hexdigest()
    before = (await get_branding(session)).images[slot]
    await repository.put_image(
        session,
        slot=slot.value,
        content_type=checked.content_type,
        data=checked.data,
        sha256=digest,
        updated_by=actor.user_id,
    )
    after = (await get_branding(session)).images[slot]
    if after is None:
        raise RuntimeError("invariant broken: the image just stored is missing")
    await audit.record(
        session,
        actor=actor,
        action="branding.image.update",
        target_type="branding_image",
        target_id=slot.value,
        before=_described(before),
        after=_described(after),
    )
    log.info("branding.image.stored", slot=slot.value, content_type=checked.content_type, size=len(checked.data))
    _forget_after_commit(session, cache)
    return after


async def delete_image(
    session: AsyncSession, *, actor: Actor, slot: ImageSlot, cache: BrandingCache | None = None
) -> None:
    before = (await get_branding(session)).images[slot]
    if not await repository.delete_image(session, slot.value):
        raise BrandingImageNotFound(f"no image in slot {slot.value}", field="slot")
    await audit.record(
        session,
        actor=actor,
        action="branding.image.delete",
        target_type="branding_image",
        target_id=slot.value,
        before=_described(before),
    )
    _forget_after_commit(session, cache)


async def get_image(session: AsyncSession, slot: ImageSlot) -> StoredImage:
    image = await repository.get_image(session, slot.value)
    if image is None:
        raise BrandingImageNotFound(f"no image in slot {slot.value}", field="slot")
    return StoredImage(slot=slot, content_type=image.content_type, sha256=image.sha256, data=image.data)
