"""Reading and changing admin settings (audited)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.errors import BadRequest
from litemaas.models.admin_setting import AdminSetting
from litemaas.settings_admin.schemas import ApiKeySettings, first_inconsistency

API_KEYS = "api_keys"


async def get_api_key_settings(session: AsyncSession) -> ApiKeySettings:
    value = await session.scalar(select(AdminSetting.value).where(AdminSetting.name == API_KEYS))
    return ApiKeySettings.model_validate(value) if value else ApiKeySettings()


async def update_api_key_settings(session: AsyncSession, *, actor: Actor, settings: ApiKeySettings) -> ApiKeySettings:
    problem = first_inconsistency(settings)
    if problem is not None:
        raise BadRequest(problem[1], field=problem[0])
    before = await get_api_key_settings(session)
    value = settings.model_dump(mode="json")
    statement = insert(AdminSetting).values(name=API_KEYS, value=value, updated_by_id=actor.user_id)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AdminSetting.name],
            set_={"value": value, "updated_by_id": actor.user_id, "updated_at": statement.excluded.updated_at},
        )
    )
    await audit.record(
        session,
        actor=actor,
        action="settings.api_keys.update",
        target_type="settings",
        target_id=API_KEYS,
        before=before.model_dump(mode="json"),
        after=value,
    )
    return settings
