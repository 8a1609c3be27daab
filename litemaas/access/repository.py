"""SQL of the grant rule and the per-user key lock (reads the shared key, subscription and catalog tables)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.api_key import ApiKey
from litemaas.models.api_key_model import ApiKeyModel
from litemaas.models.catalog_model import CatalogModel
from litemaas.models.subscription import Subscription
from litemaas.models.user_limit import UserLimit


def _user_lock_id(user_id: uuid.UUID) -> int:
    # The namespace predates the access domain; changing it would let an old and a new replica
    # take different locks for one user during a rolling update.
    digest = hashlib.sha256(b"litemaas.api_keys:" + user_id.bytes).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_user_keys(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise key changes of one user (cap check, LiteLLM calls, reconcile) until commit."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _user_lock_id(user_id)})


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


async def active_subscription_model_ids(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(Subscription.model_id).where(Subscription.user_id == user_id, Subscription.status == "active")
    )
    return set(rows)


async def live_model_ids_by_name(session: AsyncSession, names: Iterable[str]) -> dict[str, uuid.UUID]:
    """Ids of the live catalog models among ``names`` (unknown, deleted or unavailable ones are absent)."""
    wanted = list(set(names))
    if not wanted:
        return {}
    rows = await session.execute(
        select(CatalogModel.name, CatalogModel.id).where(
            CatalogModel.name.in_(wanted), CatalogModel.deleted_at.is_(None), CatalogModel.available.is_(True)
        )
    )
    return {name: model_id for name, model_id in rows}


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


async def active_key_hashes(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(ApiKey.token_hash).where(ApiKey.user_id == user_id, ApiKey.status == "active").order_by(ApiKey.id)
    )
    return list(rows)


async def count_active_keys_for_model(session: AsyncSession, model_id: uuid.UUID) -> int:
    """Active keys that carry ``model_id`` (what a delete of the model strips)."""
    total = await session.scalar(
        select(func.count(ApiKey.id)).where(
            ApiKey.status == "active",
            ApiKey.id.in_(select(ApiKeyModel.key_id).where(ApiKeyModel.model_id == model_id)),
        )
    )
    return int(total or 0)


async def user_limit(session: AsyncSession, user_id: uuid.UUID) -> UserLimit | None:
    """The user's own limits row (budget, TPM, RPM LiteLLM enforces on the user), if any."""
    return await session.get(UserLimit, user_id)
