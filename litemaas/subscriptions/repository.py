"""SQL for subscriptions and their history."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.catalog_model import CatalogModel
from litemaas.models.subscription import Subscription
from litemaas.models.subscription_history import SubscriptionHistory
from litemaas.models.user import User
from litemaas.subscriptions.schemas import QueueFilter


async def insert_if_absent(session: AsyncSession, *, user_id: uuid.UUID, model_id: uuid.UUID, status: str) -> bool:
    """Create the (user, model) row unless it exists; True when this call created it.

    ON CONFLICT DO NOTHING on the unique (user_id, model_id): concurrent subscribes never
    produce two rows, whatever their timing.
    """
    result = await session.execute(
        insert(Subscription)
        .values(id=uuid.uuid4(), user_id=user_id, model_id=model_id, status=status)
        .on_conflict_do_nothing(index_elements=["user_id", "model_id"])
        .returning(Subscription.id)
    )
    return result.scalar_one_or_none() is not None


async def get_for_update(session: AsyncSession, subscription_id: uuid.UUID) -> Subscription | None:
    return await session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def get_by_user_model_for_update(
    session: AsyncSession, user_id: uuid.UUID, model_id: uuid.UUID
) -> Subscription | None:
    return await session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user_id, Subscription.model_id == model_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def get(session: AsyncSession, subscription_id: uuid.UUID) -> Subscription | None:
    return await session.get(Subscription, subscription_id)


async def owner_of(session: AsyncSession, subscription_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Subscription.user_id).where(Subscription.id == subscription_id))


async def owners_of(session: AsyncSession, subscription_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    rows = await session.execute(
        select(Subscription.id, Subscription.user_id).where(Subscription.id.in_(list(set(subscription_ids))))
    )
    return {sub_id: user_id for sub_id, user_id in rows}


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    subscription: Subscription
    model: CatalogModel
    username: str


def _split_refs(refs: Iterable[str]) -> tuple[list[uuid.UUID], list[str]]:
    """``refs`` split into ids and names (a value that parses as a UUID is an id)."""
    ids: list[uuid.UUID] = []
    names: list[str] = []
    for ref in refs:
        try:
            ids.append(uuid.UUID(ref))
        except ValueError:
            names.append(ref)
    return ids, names


def _any_of(id_column: Any, name_column: Any, refs: Iterable[str]) -> Any:
    ids, names = _split_refs(refs)
    parts = [id_column.in_(ids)] if ids else []
    if names:
        parts.append(name_column.in_(names))
    return or_(*parts)


def _filters(query: QueueFilter) -> list[object]:
    conditions: list[object] = []
    if query.statuses:
        conditions.append(Subscription.status.in_(list(query.statuses)))
    if query.models:
        conditions.append(_any_of(Subscription.model_id, CatalogModel.name, query.models))
    if query.users:
        conditions.append(_any_of(Subscription.user_id, User.username, query.users))
    if query.since:
        conditions.append(Subscription.updated_at >= query.since)
    if query.until:
        conditions.append(Subscription.updated_at < query.until)
    return conditions


async def search(
    session: AsyncSession, query: QueueFilter, *, limit: int, offset: int
) -> tuple[list[SubscriptionRow], int]:
    conditions = _filters(query)
    base = (
        select(Subscription, CatalogModel, User.username)
        .join(CatalogModel, CatalogModel.id == Subscription.model_id)
        .join(User, User.id == Subscription.user_id)
        .where(*conditions)  # type: ignore[arg-type]
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Subscription)
        .join(CatalogModel, CatalogModel.id == Subscription.model_id)
        .join(User, User.id == Subscription.user_id)
        .where(*conditions)  # type: ignore[arg-type]
    )
    rows = await session.execute(
        base.order_by(Subscription.updated_at.desc(), Subscription.id).limit(limit).offset(offset)
    )
    return [SubscriptionRow(sub, model, username) for sub, model, username in rows], int(total or 0)


async def list_for_user(session: AsyncSession, user_id: uuid.UUID) -> list[SubscriptionRow]:
    rows = await session.execute(
        select(Subscription, CatalogModel, User.username)
        .join(CatalogModel, CatalogModel.id == Subscription.model_id)
        .join(User, User.id == Subscription.user_id)
        .where(Subscription.user_id == user_id)
        .order_by(CatalogModel.name)
    )
    return [SubscriptionRow(sub, model, username) for sub, model, username in rows]


async def active_models_with_primary(
    session: AsyncSession, user_id: uuid.UUID, capability: str
) -> list[tuple[str, str]]:
    """``(name, display_name)`` of the live models whose primary capability is ``capability``
    and to which the user holds an active subscription (one query: the playground asks per turn)."""
    rows = await session.execute(
        select(CatalogModel.name, CatalogModel.display_name)
        .join(Subscription, Subscription.model_id == CatalogModel.id)
        .where(
            Subscription.user_id == user_id,
            Subscription.status == "active",
            CatalogModel.deleted_at.is_(None),
            CatalogModel.available.is_(True),
            # The primary capability comes first; a model without any counts as chat (CatalogModel).
            func.coalesce(CatalogModel.capabilities[1], "chat") == capability,
        )
        .order_by(func.lower(CatalogModel.display_name), CatalogModel.name)
    )
    return [(name, display_name) for name, display_name in rows]


async def row(session: AsyncSession, subscription_id: uuid.UUID) -> SubscriptionRow | None:
    result = await session.execute(
        select(Subscription, CatalogModel, User.username)
        .join(CatalogModel, CatalogModel.id == Subscription.model_id)
        .join(User, User.id == Subscription.user_id)
        .where(Subscription.id == subscription_id)
    )
    found = result.first()
    return SubscriptionRow(found[0], found[1], found[2]) if found else None


async def for_model_for_update(
    session: AsyncSession, model_id: uuid.UUID, statuses: Iterable[str]
) -> Sequence[Subscription]:
    return (
        await session.scalars(
            select(Subscription)
            .where(Subscription.model_id == model_id, Subscription.status.in_(list(statuses)))
            .order_by(Subscription.id)
            .with_for_update()
        )
    ).all()


async def users_for_model(session: AsyncSession, model_id: uuid.UUID, statuses: Iterable[str]) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(Subscription.user_id).where(Subscription.model_id == model_id, Subscription.status.in_(list(statuses)))
    )
    return set(rows)


async def history(session: AsyncSession, subscription_id: uuid.UUID) -> Sequence[SubscriptionHistory]:
    return (
        await session.scalars(
            select(SubscriptionHistory)
            .where(SubscriptionHistory.subscription_id == subscription_id)
            .order_by(SubscriptionHistory.occurred_at, SubscriptionHistory.id)
        )
    ).all()


async def last_action(
    session: AsyncSession, subscription_id: uuid.UUID, *, among: Iterable[str] | None = None
) -> SubscriptionHistory | None:
    """The latest history row of the subscription (only of the ``among`` actions when given)."""
    query = select(SubscriptionHistory).where(SubscriptionHistory.subscription_id == subscription_id)
    if among is not None:
        query = query.where(SubscriptionHistory.action.in_(list(among)))
    return await session.scalar(
        query.order_by(SubscriptionHistory.occurred_at.desc(), SubscriptionHistory.id.desc()).limit(1)
    )


async def model_by_ref(session: AsyncSession, ref: str) -> CatalogModel | None:
    """A catalog model by id or by LiteLLM name (deleted or unavailable ones included)."""
    try:
        model = await session.get(CatalogModel, uuid.UUID(ref))
    except ValueError:
        model = None
    if model is None:
        model = await session.scalar(select(CatalogModel).where(CatalogModel.name == ref))
    return model


async def model(session: AsyncSession, model_id: uuid.UUID) -> CatalogModel:
    found = await session.get(CatalogModel, model_id)
    if found is None:
        raise RuntimeError("subscriptions.model_id references catalog_models")
    return found


def add_history(session: AsyncSession, entry: SubscriptionHistory) -> None:
    session.add(entry)


async def count_status(session: AsyncSession, status: str) -> int:
    """How many subscriptions are in ``status`` (an index-only count on the status index)."""
    return int(await session.scalar(select(func.count()).where(Subscription.status == status)) or 0)


async def decisions_since(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Admin approvals and denials recorded since ``since``: ``{"approve": n, "deny": m}``."""
    rows = await session.execute(
        select(SubscriptionHistory.action, func.count())
        .where(SubscriptionHistory.occurred_at >= since, SubscriptionHistory.action.in_(["approve", "deny"]))
        .group_by(SubscriptionHistory.action)
    )
    return {action: int(count) for action, count in rows}


async def targets_of(
    session: AsyncSession, subscription_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]:
    """``{subscription id: (user id, model id)}`` for the ids that exist."""
    rows = await session.execute(
        select(Subscription.id, Subscription.user_id, Subscription.model_id).where(
            Subscription.id.in_(list(set(subscription_ids)))
        )
    )
    return {sub_id: (user_id, model_id) for sub_id, user_id, model_id in rows}


async def rows(session: AsyncSession, subscription_ids: Iterable[uuid.UUID]) -> list[SubscriptionRow]:
    result = await session.execute(
        select(Subscription, CatalogModel, User.username)
        .join(CatalogModel, CatalogModel.id == Subscription.model_id)
        .join(User, User.id == Subscription.user_id)
        .where(Subscription.id.in_(list(set(subscription_ids))))
    )
    return [SubscriptionRow(sub, model, username) for sub, model, username in result]


async def status_counts_by_model(
    session: AsyncSession, model_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, dict[str, int]]:
    """Subscriptions per model and status (``{model_id: {"active": n, ...}}``)."""
    statement = select(Subscription.model_id, Subscription.status, func.count()).group_by(
        Subscription.model_id, Subscription.status
    )
    if model_ids is not None:
        statement = statement.where(Subscription.model_id.in_(list(model_ids)))
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for model_id, status, total in (await session.execute(statement)).all():
        counts.setdefault(model_id, {})[status] = int(total)
    return counts
