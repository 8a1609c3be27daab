"""SQL for admin settings (one JSON document per name)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.admin_setting import AdminSetting


async def get_value(session: AsyncSession, name: str) -> dict[str, Any] | None:
    return await session.scalar(select(AdminSetting.value).where(AdminSetting.name == name))


async def put_value(session: AsyncSession, name: str, value: dict[str, Any], *, updated_by: uuid.UUID | None) -> None:
    """Store ``value`` under ``name``, replacing what was there (one statement, no read first)."""
    statement = insert(AdminSetting).values(name=name, value=value, updated_by_id=updated_by)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AdminSetting.name],
            set_={"value": value, "updated_by_id": updated_by, "updated_at": statement.excluded.updated_at},
        )
    )
