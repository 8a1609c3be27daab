"""Reading and changing admin settings (audited)."""

from __future__ import annotations

import copy
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.settings_admin import repository
from litemaas.settings_admin.errors import InconsistentSettings
from litemaas.settings_admin.schemas import ApiKeySettings, first_inconsistency

API_KEYS = "api_keys"

log = structlog.get_logger("litemaas.settings_admin")


async def get_api_key_settings(session: AsyncSession) -> ApiKeySettings:
    value = await repository.get_value(session, API_KEYS)
    return _stored_settings(value) if value else ApiKeySettings()


def _stored_settings(value: dict[str, Any]) -> ApiKeySettings:
    """The stored document; values an older release let in beyond today's bounds fall back to unset.

    Refusing the whole document would fail every key creation, which is what the bounds prevent.
    """
    document = copy.deepcopy(value)
    for _ in range(20):
        try:
            return ApiKeySettings.model_validate(document)
        except ValidationError as exc:
            for error in exc.errors():
                _drop(document, [str(part) for part in error["loc"]])
            log.warning("settings.api_keys.invalid_stored", fields=[".".join(map(str, e["loc"])) for e in exc.errors()])
    return ApiKeySettings()


def _drop(document: dict[str, Any], path: list[str]) -> None:
    if not path:
        return
    parent: Any = document
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif path:
        document.pop(path[0], None)


async def update_api_key_settings(session: AsyncSession, *, actor: Actor, settings: ApiKeySettings) -> ApiKeySettings:
    problem = first_inconsistency(settings)
    if problem is not None:
        raise InconsistentSettings(problem[1], field=problem[0])
    before = await get_api_key_settings(session)
    value = settings.model_dump(mode="json")
    await repository.put_value(session, API_KEYS, value, updated_by=actor.user_id)
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
