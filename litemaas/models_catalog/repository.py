"""SQL for the catalog."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.catalog_model import CatalogModel


async def list_models(
    session: AsyncSession,
    *,
    include_hidden: bool,
    capability: str | None = None,
    search: str | None = None,
    provider: str | None = None,
) -> Sequence[CatalogModel]:
    statement = select(CatalogModel).order_by(CatalogModel.name)
    if not include_hidden:
        statement = statement.where(CatalogModel.deleted_at.is_(None), CatalogModel.available.is_(True))
    if capability:
        statement = statement.where(CatalogModel.capabilities.contains([capability]))
    if provider:
        statement = statement.where(CatalogModel.provider == provider)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                CatalogModel.name.ilike(pattern, escape="\\"),
                CatalogModel.display_name.ilike(pattern, escape="\\"),
                CatalogModel.provider.ilike(pattern, escape="\\"),
            )
        )
    return (await session.scalars(statement)).all()


async def get_by_id(session: AsyncSession, model_id: uuid.UUID, *, for_update: bool = False) -> CatalogModel | None:
    statement = select(CatalogModel).where(CatalogModel.id == model_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def get_by_name(session: AsyncSession, name: str, *, for_update: bool = False) -> CatalogModel | None:
    statement = select(CatalogModel).where(CatalogModel.name == name)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


# Fixed advisory lock id for catalog syncs ("catalog" in ASCII), so two syncs never race to insert.
_SYNC_LOCK_ID = 0x636174616C6F67


async def lock_catalog(session: AsyncSession) -> None:
    """Serialise catalog syncs until the transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SYNC_LOCK_ID})


async def all_models_for_update(session: AsyncSession) -> Sequence[CatalogModel]:
    return (await session.scalars(select(CatalogModel).order_by(CatalogModel.name).with_for_update())).all()


def add(session: AsyncSession, model: CatalogModel) -> None:
    session.add(model)
