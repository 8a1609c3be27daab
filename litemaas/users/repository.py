"""SQL for users."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def user_limit(session: AsyncSession, user_id: uuid.UUID) -> UserLimit | None:
    return await session.get(UserLimit, user_id)


def add(session: AsyncSession, row: UserLimit) -> None:
    session.add(row)
