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
from litemaas.models.user import User
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
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    """One page of users by username, and the number matching the filters."""
    conditions: list[ColumnElement[bool]] = []
    if text:
        pattern = f"%{escape_like(text)}%"
        conditions.append(
            or_(
                User.username.ilike(pattern, escape=LIKE_ESCAPE),
                User.email.ilike(pattern, escape=LIKE_ESCAPE),
                User.display_name.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    if role is not None:
        conditions.append(User.role == role)
    if active is not None:
        conditions.append(User.is_active.is_(active))
    total = await session.scalar(select(func.count()).select_from(User).where(*conditions))
    users = await session.scalars(select(User).where(*conditions).order_by(User.username).limit(limit).offset(offset))
    return list(users.all()), int(total or 0)
