"""SQL for API keys (the grant rule's query lives in ``access``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.kit.time import utcnow
from litemaas.models.api_key import ApiKey
from litemaas.models.api_key_model import ApiKeyModel
from litemaas.models.api_key_token import ApiKeyToken
from litemaas.models.catalog_model import CatalogModel
from litemaas.models.user import User


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


# Keys users hold; the backend's playground keys (purpose "playground") stay out of the key API.
USER_KEY = ApiKey.purpose == "user"
PLAYGROUND = "playground"


async def get_key(session: AsyncSession, key_id: uuid.UUID, *, for_update: bool = False) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.id == key_id, USER_KEY)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_keys(
    session: AsyncSession,
    *,
    user_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[Sequence[ApiKey], int]:
    conditions = [USER_KEY]
    if user_id is not None:
        conditions.append(ApiKey.user_id == user_id)
    if status is not None:
        conditions.append(ApiKey.status == status)
    total = await session.scalar(select(func.count()).select_from(ApiKey).where(*conditions))
    statement = select(ApiKey).where(*conditions).order_by(ApiKey.created_at.desc(), ApiKey.id).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return (await session.scalars(statement)).all(), int(total or 0)


async def count_active_keys(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Active keys that count against the owner's cap: an event seat's key (alias ``_event-…``) does not."""
    value = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(
            ApiKey.user_id == user_id,
            ApiKey.status == "active",
            USER_KEY,
            ApiKey.alias.not_like("\\_event-%", escape="\\"),
        )
    )
    return int(value or 0)


async def key_model_names(session: AsyncSession, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Models put on each key (whatever their subscription state), by name."""
    ids = list(set(key_ids))
    result: dict[uuid.UUID, list[str]] = {key_id: [] for key_id in ids}
    if not ids:
        return result
    rows = await session.execute(
        select(ApiKeyModel.key_id, CatalogModel.name)
        .join(CatalogModel, CatalogModel.id == ApiKeyModel.model_id)
        .where(ApiKeyModel.key_id.in_(ids))
        .order_by(CatalogModel.name)
    )
    for key_id, name in rows:
        result[key_id].append(name)
    return result


async def set_key_models(session: AsyncSession, key_id: uuid.UUID, model_ids: Iterable[uuid.UUID]) -> None:
    await session.execute(delete(ApiKeyModel).where(ApiKeyModel.key_id == key_id))
    values = [{"key_id": key_id, "model_id": model_id} for model_id in set(model_ids)]
    if values:
        await session.execute(insert(ApiKeyModel), values)


async def playground_key(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> ApiKey | None:
    """The user's live playground key, if there is one."""
    statement = select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.status == "active", ApiKey.purpose == PLAYGROUND)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def playground_key_with_models(session: AsyncSession, user_id: uuid.UUID) -> tuple[ApiKey, list[str]] | None:
    """The user's live playground key and the names of the models on it, in one query."""
    names = (
        select(func.array_agg(CatalogModel.name))
        .select_from(ApiKeyModel)
        .join(CatalogModel, CatalogModel.id == ApiKeyModel.model_id)
        .where(ApiKeyModel.key_id == ApiKey.id)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(ApiKey, names).where(
                ApiKey.user_id == user_id, ApiKey.status == "active", ApiKey.purpose == PLAYGROUND
            )
        )
    ).first()
    if row is None:
        return None
    key, models = row
    return key, list(models or [])


def add_key(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)


async def add_token(session: AsyncSession, key: ApiKey) -> None:
    session.add(ApiKeyToken(token_hash=key.token_hash, key_id=key.id, user_id=key.user_id, last4=key.last4))


async def retire_token(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        update(ApiKeyToken)
        .where(ApiKeyToken.token_hash == token_hash, ApiKeyToken.retired_at.is_(None))
        .values(retired_at=utcnow())
    )
