"""SQL of the jobs: reconcile's reads of the shared key, user and limit tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.api_key import ApiKey
from litemaas.models.api_key_token import ApiKeyToken
from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit


async def token_owners(session: AsyncSession) -> dict[str, tuple[uuid.UUID, uuid.UUID, bool]]:
    """Every token hash we ever issued → (key id, user id, is it the key's current live secret)."""
    rows = await session.execute(
        select(ApiKeyToken.token_hash, ApiKeyToken.key_id, ApiKeyToken.user_id, ApiKey.token_hash, ApiKey.status).join(
            ApiKey, ApiKey.id == ApiKeyToken.key_id
        )
    )
    return {
        token: (key_id, user_id, current == token and status == "active")
        for token, key_id, user_id, current, status in rows
    }


async def active_keys(session: AsyncSession, user_ids: Iterable[uuid.UUID] | None) -> list[ApiKey]:
    """Active keys (of ``user_ids``, or of everyone)."""
    statement = select(ApiKey).where(ApiKey.status == "active")
    if user_ids is not None:
        statement = statement.where(ApiKey.user_id.in_(list(user_ids)))
    return list((await session.scalars(statement)).all())


async def owners(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, str, bool]]:
    """(id, username, is_active) of the given users."""
    rows = await session.execute(select(User.id, User.username, User.is_active).where(User.id.in_(set(user_ids))))
    return [(user_id, username, is_active) for user_id, username, is_active in rows]


async def existing_user_ids(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = set(user_ids)
    if not wanted:
        return set()
    return set((await session.scalars(select(User.id).where(User.id.in_(wanted)))).all())


async def usernames(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(set(user_ids))))
    return [(user_id, username) for user_id, username in rows]


async def users_missing_in_litellm(session: AsyncSession) -> Sequence[User]:
    """Active users whose LiteLLM user could not be created yet."""
    return (await session.scalars(select(User).where(User.litellm_synced_at.is_(None), User.is_active.is_(True)))).all()


async def users_with_limits(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """(id, username) of users with per-user limits and a LiteLLM user to hold them."""
    rows = await session.execute(
        select(UserLimit.user_id, User.username)
        .join(User, User.id == UserLimit.user_id)
        .where(User.litellm_synced_at.is_not(None))
    )
    return [(user_id, username) for user_id, username in rows]


async def user_limit(session: AsyncSession, user_id: uuid.UUID) -> UserLimit | None:
    return await session.get(UserLimit, user_id)
