"""SQL for admin API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.admin_token import AdminToken


async def add(session: AsyncSession, token: AdminToken) -> AdminToken:
    session.add(token)
    await session.flush()
    return token


async def get(session: AsyncSession, token_id: uuid.UUID) -> AdminToken | None:
    return await session.get(AdminToken, token_id)


async def by_hash(session: AsyncSession, token_hash: str) -> AdminToken | None:
    return await session.scalar(select(AdminToken).where(AdminToken.token_hash == token_hash))


async def active_by_name(session: AsyncSession, name: str) -> list[AdminToken]:
    """Non-revoked tokens called ``name`` (names are unique among them only by habit)."""
    rows = await session.scalars(select(AdminToken).where(AdminToken.name == name, AdminToken.revoked_at.is_(None)))
    return list(rows.all())


async def list_all(session: AsyncSession, *, include_revoked: bool) -> list[AdminToken]:
    """Every token, newest first."""
    query = select(AdminToken).order_by(AdminToken.created_at.desc())
    if not include_revoked:
        query = query.where(AdminToken.revoked_at.is_(None))
    return list((await session.scalars(query)).all())


async def set_last_used(session: AsyncSession, token_id: uuid.UUID, when: datetime) -> None:
    await session.execute(update(AdminToken).where(AdminToken.id == token_id).values(last_used_at=when))
