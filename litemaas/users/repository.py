"""SQL for users."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Label, case, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.kit.search import LIKE_ESCAPE, escape_like
from litemaas.models.admin_setting import AdminSetting
from litemaas.models.user import SEARCH_TEXT, User
from litemaas.models.user_limit import UserLimit


@dataclass(frozen=True, slots=True)
class RoleRow:
    """The columns the per-request role check reads."""

    username: str
    role: str
    is_active: bool


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def user_limit(session: AsyncSession, user_id: uuid.UUID) -> UserLimit | None:
    return await session.get(UserLimit, user_id)


def add(session: AsyncSession, row: UserLimit) -> None:
    session.add(row)


async def get_fresh(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user as stored now, even when the session already holds an older copy."""
    return await session.get(User, user_id, populate_existing=True)


async def get_by_identity(session: AsyncSession, *, provider: str, subject: str) -> User | None:
    return await session.scalar(select(User).where(User.identity_provider == provider, User.subject == subject))


async def role_row(session: AsyncSession, user_id: uuid.UUID) -> RoleRow | None:
    row = (
        await session.execute(select(User.username, User.role, User.is_active).where(User.id == user_id))
    ).one_or_none()
    return RoleRow(row.username, row.role, row.is_active) if row is not None else None


async def by_username_or_email(session: AsyncSession, lowered: str) -> list[User]:
    """Users whose username or e-mail equals ``lowered`` ignoring case."""
    rows = await session.scalars(
        select(User).where(or_(func.lower(User.username) == lowered, func.lower(User.email) == lowered))
    )
    return list(rows.all())


def _role_sql(group_role: Any, manual_role: Any) -> Any:
    # The most privileged of the two, as ``auth.principal.highest_role`` computes it in Python.
    return case(
        (or_(group_role == "admin", manual_role == "admin"), literal("admin")),
        (or_(group_role == "admin_readonly", manual_role == "admin_readonly"), literal("admin_readonly")),
        else_=literal("user"),
    )


def _inserted_flag() -> Label[bool]:
    # xmax = 0 only on a freshly inserted row version: tells insert from conflict-update.
    return literal_column("(xmax = 0)", type_=Boolean).label("inserted")


async def upsert_login(session: AsyncSession, values: Mapping[str, Any]) -> tuple[uuid.UUID, bool] | None:
    """Insert the user of a first login, or refresh an active one; ``(id, created)``.

    An upsert on the (provider, subject) unique constraint, so concurrent first logins of one
    person converge on one row. None when the row exists but is deactivated (left unchanged).
    The manual role is kept and the effective role recomputed from it. Raises ``IntegrityError``
    when the username belongs to another identity; the caller's transaction stays usable.
    """
    stmt = insert(User).values(**values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[User.identity_provider, User.subject],
        set_={
            "username": stmt.excluded.username,
            "email": stmt.excluded.email,
            "display_name": stmt.excluded.display_name,
            "groups": stmt.excluded.groups,
            "group_role": stmt.excluded.group_role,
            "role": _role_sql(stmt.excluded.group_role, User.manual_role),
            "last_login_at": stmt.excluded.last_login_at,
            "updated_at": stmt.excluded.updated_at,
        },
        where=User.is_active.is_(True),
    ).returning(User.id, _inserted_flag())
    async with session.begin_nested():
        row = (await session.execute(upsert)).one_or_none()
    return (row[0], bool(row[1])) if row is not None else None


async def search(
    session: AsyncSession,
    *,
    text: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    provider: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    """One page of users by username, and the number matching the filters.

    The text search is a substring match served by a trigram index (migration 0006).
    """
    conditions: list[ColumnElement[bool]] = []
    if text:
        # Username, e-mail or display name containing ``text``, ignoring case: one expression the
        # trigram index ix_users_search_trgm covers.
        pattern = f"%{escape_like(text.lower())}%"
        conditions.append(literal_column(SEARCH_TEXT).like(pattern, escape=LIKE_ESCAPE))
    if role is not None:
        conditions.append(User.role == role)
    if active is not None:
        conditions.append(User.is_active.is_(active))
    if provider is not None:
        conditions.append(User.identity_provider == provider)
    total = await session.scalar(select(func.count()).select_from(User).where(*conditions))
    users = await session.scalars(select(User).where(*conditions).order_by(User.username).limit(limit).offset(offset))
    return list(users.all()), int(total or 0)


async def setting(session: AsyncSession, name: str) -> dict[str, Any] | None:
    """A stored admin setting document (``admin_settings``), e.g. the defaults for new users."""
    return await session.scalar(select(AdminSetting.value).where(AdminSetting.name == name))


async def put_setting(session: AsyncSession, name: str, value: dict[str, Any], *, updated_by: uuid.UUID | None) -> None:
    statement = insert(AdminSetting).values(name=name, value=value, updated_by_id=updated_by)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AdminSetting.name],
            set_={"value": value, "updated_by_id": updated_by, "updated_at": statement.excluded.updated_at},
        )
    )


async def active_users_after(session: AsyncSession, after: uuid.UUID | None, limit: int) -> list[User]:
    """Active users by id, after ``after`` (keyset paging through all of them)."""
    statement = select(User).where(User.is_active.is_(True)).order_by(User.id).limit(limit)
    if after is not None:
        statement = statement.where(User.id > after)
    return list((await session.scalars(statement)).all())


async def user_limits_of(session: AsyncSession, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, UserLimit]:
    rows = await session.scalars(select(UserLimit).where(UserLimit.user_id.in_(user_ids)))
    return {row.user_id: row for row in rows}


async def providers(session: AsyncSession) -> list[str]:
    """The identity providers users came from (for the filter)."""
    rows = await session.scalars(select(User.identity_provider).distinct().order_by(User.identity_provider))
    return list(rows)
