"""SQL of events: the event row (and its lock), models, hosts, seats, and the names around them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.api_key import ApiKey
from litemaas.models.catalog_model import CatalogModel
from litemaas.models.event import Event
from litemaas.models.event_host import EventHost
from litemaas.models.event_model import EventModel
from litemaas.models.event_seat import EventSeat
from litemaas.models.user import User


def add(session: AsyncSession, row: Event | EventSeat) -> None:
    session.add(row)


async def get(session: AsyncSession, event_id: uuid.UUID) -> Event | None:
    return await session.get(Event, event_id)


async def lock(session: AsyncSession, event_id: uuid.UUID) -> Event | None:
    """The event row, locked until commit: joins, seat requests and the end take their turn here."""
    return await session.scalar(
        select(Event).where(Event.id == event_id).with_for_update().execution_options(populate_existing=True)
    )


async def by_code(session: AsyncSession, code: str) -> Event | None:
    return await session.scalar(select(Event).where(Event.join_code == code))


async def list_events(session: AsyncSession, *, event_ids: Iterable[uuid.UUID] | None = None) -> Sequence[Event]:
    statement = select(Event).order_by(Event.starts_at.desc(), Event.id)
    if event_ids is not None:
        statement = statement.where(Event.id.in_(list(event_ids)))
    return (await session.scalars(statement)).all()


async def due_events(session: AsyncSession, now: object) -> list[uuid.UUID]:
    """Events still marked active whose end has passed."""
    rows = await session.scalars(select(Event.id).where(Event.status == "active", Event.ends_at <= now))
    return list(rows)


# --------------------------------------------------------------------------- models


async def live_models_by_name(session: AsyncSession, names: Iterable[str]) -> dict[str, uuid.UUID]:
    rows = await session.execute(
        select(CatalogModel.name, CatalogModel.id).where(
            CatalogModel.name.in_(list(set(names))),
            CatalogModel.deleted_at.is_(None),
            CatalogModel.available.is_(True),
        )
    )
    return {name: model_id for name, model_id in rows}


async def set_models(session: AsyncSession, event_id: uuid.UUID, model_ids: Iterable[uuid.UUID]) -> None:
    await session.execute(delete(EventModel).where(EventModel.event_id == event_id))
    values = [{"event_id": event_id, "model_id": m} for m in set(model_ids)]
    if values:
        await session.execute(insert(EventModel), values)


async def model_names(session: AsyncSession, event_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    ids = list(set(event_ids))
    result: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = await session.execute(
        select(EventModel.event_id, CatalogModel.name)
        .join(CatalogModel, CatalogModel.id == EventModel.model_id)
        .where(EventModel.event_id.in_(ids))
        .order_by(CatalogModel.name)
    )
    for event_id, name in rows:
        result[event_id].append(name)
    return result


async def live_models(session: AsyncSession, event_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """The event's models that are live now (a deleted or unavailable one is not granted)."""
    rows = await session.execute(
        select(CatalogModel.id, CatalogModel.name)
        .join(EventModel, EventModel.model_id == CatalogModel.id)
        .where(EventModel.event_id == event_id, CatalogModel.deleted_at.is_(None), CatalogModel.available.is_(True))
    )
    return {model_id: name for model_id, name in rows}


# --------------------------------------------------------------------------- hosts


async def users_by_username(session: AsyncSession, usernames: Iterable[str]) -> dict[str, User]:
    wanted = list(set(usernames))
    if not wanted:
        return {}
    rows = await session.scalars(select(User).where(User.username.in_(wanted)))
    return {user.username: user for user in rows}


async def set_hosts(
    session: AsyncSession, event_id: uuid.UUID, user_ids: Iterable[uuid.UUID], added_by: uuid.UUID | None
) -> None:
    await session.execute(delete(EventHost).where(EventHost.event_id == event_id))
    values = [{"event_id": event_id, "user_id": u, "added_by_id": added_by} for u in set(user_ids)]
    if values:
        await session.execute(insert(EventHost), values)


async def host_names(session: AsyncSession, event_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    ids = list(set(event_ids))
    result: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = await session.execute(
        select(EventHost.event_id, User.username)
        .join(User, User.id == EventHost.user_id)
        .where(EventHost.event_id.in_(ids))
        .order_by(User.username)
    )
    for event_id, name in rows:
        result[event_id].append(name)
    return result


async def is_host(session: AsyncSession, event_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(func.count()).select_from(EventHost).where(EventHost.event_id == event_id, EventHost.user_id == user_id)
    )
    return bool(found)


async def hosted_event_ids(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    return list(await session.scalars(select(EventHost.event_id).where(EventHost.user_id == user_id)))


# --------------------------------------------------------------------------- seats


async def seat_of(session: AsyncSession, event_id: uuid.UUID, user_id: uuid.UUID) -> EventSeat | None:
    return await session.scalar(select(EventSeat).where(EventSeat.event_id == event_id, EventSeat.user_id == user_id))


async def get_seat(session: AsyncSession, seat_id: uuid.UUID, *, for_update: bool = False) -> EventSeat | None:
    statement = select(EventSeat).where(EventSeat.id == seat_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def seats(
    session: AsyncSession, event_id: uuid.UUID, *, status: str | None = None, for_update: bool = False
) -> Sequence[EventSeat]:
    statement = select(EventSeat).where(EventSeat.event_id == event_id).order_by(EventSeat.created_at, EventSeat.id)
    if status is not None:
        statement = statement.where(EventSeat.status == status)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).all()


async def seats_of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[EventSeat]:
    return (await session.scalars(select(EventSeat).where(EventSeat.user_id == user_id))).all()


async def live_seats_holding(
    session: AsyncSession, user_id: uuid.UUID, model_ids: Iterable[uuid.UUID], *, excluding_seat: uuid.UUID
) -> dict[uuid.UUID, EventSeat]:
    """Of ``model_ids``, those another active seat of the user still needs (its event grants the
    model), each with that seat (the earliest when several do)."""
    wanted = set(model_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(EventModel.model_id, EventSeat)
        .join(EventSeat, EventSeat.event_id == EventModel.event_id)
        .where(
            EventSeat.user_id == user_id,
            EventSeat.status == "active",
            EventSeat.id != excluding_seat,
            EventModel.model_id.in_(wanted),
        )
        .order_by(EventSeat.id)
    )
    holders: dict[uuid.UUID, EventSeat] = {}
    for model_id, seat in rows:
        holders.setdefault(model_id, seat)
    return holders


async def usernames(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


async def keys(session: AsyncSession, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ApiKey]:
    ids = [i for i in set(key_ids) if i is not None]
    if not ids:
        return {}
    return {key.id: key for key in await session.scalars(select(ApiKey).where(ApiKey.id.in_(ids)))}


async def count_lab_seats(session: AsyncSession, event_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(func.count()).select_from(EventSeat).where(EventSeat.event_id == event_id, EventSeat.source == "api")
    )
    return int(value or 0)


async def bump_seats(session: AsyncSession, event_id: uuid.UUID, delta: int) -> None:
    await session.execute(update(Event).where(Event.id == event_id).values(seats_taken=Event.seats_taken + delta))
