"""Reading and changing admin settings (audited)."""

from __future__ import annotations

import copy
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.config import Settings
from litemaas.settings_admin import repository
from litemaas.settings_admin.errors import InconsistentSettings
from litemaas.settings_admin.schemas import (
    ApiKeySettings,
    KeyCleanupSettings,
    PortalSettingsIn,
    PortalSettingsOut,
    PortalValues,
    first_inconsistency,
)
from litemaas.users import service as users
from litemaas.users.schemas import UserDefaults

API_KEYS = "api_keys"
KEY_CLEANUP = "key_cleanup"

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


async def get_key_cleanup_settings(session: AsyncSession) -> KeyCleanupSettings:
    value = await repository.get_value(session, KEY_CLEANUP)
    if not value:
        return KeyCleanupSettings()
    try:
        return KeyCleanupSettings.model_validate(value)
    except ValidationError:
        log.warning("settings.key_cleanup.invalid_stored")
        return KeyCleanupSettings()


async def update_key_cleanup_settings(
    session: AsyncSession, *, actor: Actor, settings: KeyCleanupSettings
) -> KeyCleanupSettings:
    before = await get_key_cleanup_settings(session)
    value = settings.model_dump(mode="json")
    await repository.put_value(session, KEY_CLEANUP, value, updated_by=actor.user_id)
    await audit.record(
        session,
        actor=actor,
        action="settings.key_cleanup.update",
        target_type="settings",
        target_id=KEY_CLEANUP,
        before=before.model_dump(mode="json"),
        after=value,
    )
    return settings


# --------------------------------------------------------------------------- portal settings

PORTAL = "portal"
DEFAULT_CURRENCY_LABEL = "USD"
DEFAULT_CURRENCY_SYMBOL = "$"


def portal_defaults(settings: Settings) -> PortalValues:
    """The environment's values (``LITEMAAS_PLAYGROUND_*``, ``LITEMAAS_PUBLIC_PROXY_URL``)."""
    return PortalValues(
        playground_rpm_limit=settings.playground_rpm_limit,
        playground_tpm_limit=settings.playground_tpm_limit,
        playground_max_tokens=settings.playground_max_tokens,
        public_proxy_url=(settings.public_proxy_url or settings.proxy_url).rstrip("/"),
        currency_label=DEFAULT_CURRENCY_LABEL,
        currency_symbol=DEFAULT_CURRENCY_SYMBOL,
    )


async def _portal_overrides(session: AsyncSession) -> PortalSettingsIn:
    value = await repository.get_value(session, PORTAL)
    if not value:
        return PortalSettingsIn()
    try:
        return PortalSettingsIn.model_validate(value)
    except ValidationError:
        # A document an older release stored beyond today's rules: the environment's values apply.
        log.warning("settings.portal.invalid_stored")
        return PortalSettingsIn()


def _merge(defaults: PortalValues, overrides: PortalSettingsIn) -> PortalValues:
    chosen = overrides.model_dump(exclude_none=True)
    return defaults.model_copy(update=chosen)


async def get_portal_settings(session: AsyncSession, settings: Settings) -> PortalSettingsOut:
    defaults = portal_defaults(settings)
    overrides = await _portal_overrides(session)
    return PortalSettingsOut(effective=_merge(defaults, overrides), overrides=overrides, defaults=defaults)


async def portal_values(session: AsyncSession, settings: Settings) -> PortalValues:
    """What the portal and the playground use now."""
    return _merge(portal_defaults(settings), await _portal_overrides(session))


async def update_portal_settings(
    session: AsyncSession, settings: Settings, *, actor: Actor, overrides: PortalSettingsIn
) -> PortalSettingsOut:
    """Replace the stored overrides (a ``None`` field goes back to the environment's value)."""
    before = await _portal_overrides(session)
    value = overrides.model_dump(mode="json", exclude_none=True)
    await repository.put_value(session, PORTAL, value, updated_by=actor.user_id)
    await audit.record(
        session,
        actor=actor,
        action="settings.portal.update",
        target_type="settings",
        target_id=PORTAL,
        before=before.model_dump(mode="json", exclude_none=True),
        after=value,
    )
    defaults = portal_defaults(settings)
    return PortalSettingsOut(effective=_merge(defaults, overrides), overrides=overrides, defaults=defaults)


async def get_user_defaults(session: AsyncSession) -> UserDefaults:
    """Limits for new users (budget, TPM, RPM, key cap, budget period): owned by the users domain,
    which applies them at first login; stored in ``admin_settings`` under ``user_defaults``."""
    return await users.get_user_defaults(session)


async def update_user_defaults(session: AsyncSession, *, actor: Actor, defaults: UserDefaults) -> UserDefaults:
    return await users.set_user_defaults(session, actor=actor, defaults=defaults)
