"""SQL for banners and their per-user dismissals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.banner import Banner
from litemaas.models.banner_dismissal import BannerDismissal

_ORDER = (Banner.position, Banner.created_at, Banner.id)


async def list_all(session: AsyncSession) -> Sequence[Banner]:
    return (await session.scalars(select(Banner).order_by(*_ORDER))).all()


async def live(session: AsyncSession, now: datetime) -> Sequence[Banner]:
    """Enabled banners whose window has not ended (it may not have started yet)."""
    query = select(Banner).where(Banner.enabled, or_(Banner.ends_at.is_(None), Banner.ends_at > now))
    return (await session.scalars(query.order_by(*_ORDER))).all()


async def get(session: AsyncSession, banner_id: uuid.UUID) -> Banner | None:
    return await session.get(Banner, banner_id)


async def next_position(session: AsyncSession) -> int:
    highest = await session.scalar(select(func.max(Banner.position)))
    return 0 if highest is None else highest + 1


async def add(session: AsyncSession, banner: Banner) -> Banner:
    session.add(banner)
    await session.flush()
    await session.refresh(banner)
    return banner


async def save(session: AsyncSession, banner: Banner) -> Banner:
    await session.flush()
    await session.refresh(banner)
    return banner


async def remove(session: AsyncSession, banner: Banner) -> None:
    await session.delete(banner)
    await session.flush()


async def set_positions(session: AsyncSession, order: list[uuid.UUID]) -> None:
    for position, banner_id in enumerate(order):
        await session.execute(update(Banner).where(Banner.id == banner_id).values(position=position))


async def dismissed(session: AsyncSession, user_id: uuid.UUID, banner_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    query = select(BannerDismissal.banner_id).where(
        BannerDismissal.user_id == user_id, BannerDismissal.banner_id.in_(banner_ids)
    )
    return set((await session.scalars(query)).all())


async def dismiss(session: AsyncSession, user_id: uuid.UUID, banner_id: uuid.UUID) -> None:
    statement = insert(BannerDismissal).values(user_id=user_id, banner_id=banner_id)
    await session.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "banner_id"]))


async def forget_dismissals(session: AsyncSession, banner_id: uuid.UUID) -> None:
    """Show an edited banner again to those who dismissed its earlier text."""
    await session.execute(delete(BannerDismissal).where(BannerDismissal.banner_id == banner_id))
