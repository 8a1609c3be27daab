"""SQL for branding: the one texts row and the images."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.kit.time import utcnow
from litemaas.models.branding import BRANDING_ROW, Branding
from litemaas.models.branding_image import BrandingImage


async def get_texts(session: AsyncSession) -> Branding | None:
    # populate_existing: the upsert above bypasses the identity map, which may hold the row as it was.
    return await session.get(Branding, BRANDING_ROW, populate_existing=True)


async def put_texts(
    session: AsyncSession,
    *,
    title: str | None,
    subtitle: str | None,
    footer_text: str | None,
    updated_by: uuid.UUID | None,
) -> None:
    values = {"title": title, "subtitle": subtitle, "footer_text": footer_text, "updated_by_id": updated_by}
    statement = insert(Branding).values(id=BRANDING_ROW, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[Branding.id], set_={**values, "updated_at": utcnow()})
    )


async def image_infos(session: AsyncSession) -> Sequence[Row[str, str, int, str, datetime]]:
    """Every stored image's slot, type, size, hash and time (not the bytes)."""
    result = await session.execute(
        select(
            BrandingImage.slot,
            BrandingImage.content_type,
            BrandingImage.size,
            BrandingImage.sha256,
            BrandingImage.updated_at,
        )
    )
    return result.all()


async def get_image(session: AsyncSession, slot: str) -> BrandingImage | None:
    return await session.get(BrandingImage, slot)


async def put_image(
    session: AsyncSession,
    *,
    slot: str,
    content_type: str,
    data: bytes,
    sha256: str,
    updated_by: uuid.UUID | None,
) -> None:
    values = {
        "content_type": content_type,
        "data": data,
        "sha256": sha256,
        "size": len(data),
        "updated_by_id": updated_by,
    }
    statement = insert(BrandingImage).values(slot=slot, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[BrandingImage.slot], set_={**values, "updated_at": utcnow()})
    )


async def delete_image(session: AsyncSession, slot: str) -> bool:
    result = await session.execute(
        delete(BrandingImage).where(BrandingImage.slot == slot).returning(BrandingImage.slot)
    )
    return result.first() is not None
