"""SQL for API keys, including the invariant query: key models ∩ the owner's active subscriptions."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import and_, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.kit.time import utcnow
from litemaas.models.api_key import ApiKey
from litemaas.models.api_key_model import ApiKeyModel
from litemaas.models.api_key_token import ApiKeyToken
from litemaas.models.catalog_model import CatalogModel
from litemaas.models.subscription import Subscription
from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit


def _user_lock_id(user_id: uuid.UUID) -> int:
    digest = hashlib.sha256(b"litemaas.api_keys:" + user_id.bytes).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_user_keys(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise key changes of one user (cap check, LiteLLM calls, reconcile) until commit."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _user_lock_id(user_id)})


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_key(session: AsyncSession, key_id: uuid.UUID, *, for_update: bool = False) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.id == key_id)
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
    conditions = []
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
    value = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, ApiKey.status == "active")
    )
    return int(value or 0)


async def user_limit(session: AsyncSession, user_id: uuid.UUID) -> UserLimit | None:
    return await session.get(UserLimit, user_id)


async def active_subscription_model_ids(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(Subscription.model_id).where(Subscription.user_id == user_id, Subscription.status == "active")
    )
    return set(rows)


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


async def effective_model_names(session: AsyncSession, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """What LiteLLM must grant each key: its models that are live and actively subscribed by its owner."""
    ids = list(set(key_ids))
    result: dict[uuid.UUID, list[str]] = {key_id: [] for key_id in ids}
    if not ids:
        return result
    rows = await session.execute(
        select(ApiKeyModel.key_id, CatalogModel.name)
        .join(ApiKey, ApiKey.id == ApiKeyModel.key_id)
        .join(CatalogModel, CatalogModel.id == ApiKeyModel.model_id)
        .join(
            Subscription,
            and_(
                Subscription.user_id == ApiKey.user_id,
                Subscription.model_id == ApiKeyModel.model_id,
                Subscription.status == "active",
            ),
        )
        .where(
            ApiKeyModel.key_id.in_(ids),
            CatalogModel.deleted_at.is_(None),
            CatalogModel.available.is_(True),
        )
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


async def users_with_active_keys_for_models(session: AsyncSession, model_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(ApiKey.user_id)
        .distinct()
        .join(ApiKeyModel, ApiKeyModel.key_id == ApiKey.id)
        .where(ApiKey.status == "active", ApiKeyModel.model_id.in_(list(set(model_ids))))
    )
    return set(rows)


async def active_keys_with_models(
    session: AsyncSession, *, model_ids: Iterable[uuid.UUID], user_ids: Iterable[uuid.UUID] | None = None
) -> Sequence[ApiKey]:
    """Active keys carrying any of ``model_ids`` (of ``user_ids`` when given), locked for update."""
    statement = (
        select(ApiKey)
        .where(
            ApiKey.status == "active",
            ApiKey.id.in_(select(ApiKeyModel.key_id).where(ApiKeyModel.model_id.in_(list(set(model_ids))))),
        )
        .order_by(ApiKey.id)
        .with_for_update()
    )
    if user_ids is not None:
        statement = statement.where(ApiKey.user_id.in_(list(set(user_ids))))
    return (await session.scalars(statement)).all()


async def add_token(session: AsyncSession, key: ApiKey) -> None:
    session.add(ApiKeyToken(token_hash=key.token_hash, key_id=key.id, user_id=key.user_id, last4=key.last4))


async def retire_token(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        update(ApiKeyToken)
        .where(ApiKeyToken.token_hash == token_hash, ApiKeyToken.retired_at.is_(None))
        .values(retired_at=utcnow())
    )


async def all_token_owners(session: AsyncSession) -> dict[str, tuple[uuid.UUID, uuid.UUID, bool]]:
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
