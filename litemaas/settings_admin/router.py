"""Admin settings routes (viewable by admin_readonly, changeable by admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.dependencies import AppSettings
from litemaas.settings_admin import service
from litemaas.settings_admin.dependencies import SettingsWriter
from litemaas.settings_admin.schemas import ApiKeySettings, KeyCleanupSettings, PortalSettingsIn, PortalSettingsOut
from litemaas.users.schemas import UserDefaults

router = APIRouter(prefix="/admin/settings", tags=["settings"])


@router.get("/api-keys", response_model=ApiKeySettings, dependencies=[require(Permission.ADMIN_READ)])
async def get_api_key_settings(session: Session) -> ApiKeySettings:
    return await service.get_api_key_settings(session)


@router.put("/api-keys", response_model=ApiKeySettings)
async def put_api_key_settings(
    session: Session,
    body: ApiKeySettings,
    principal: SettingsWriter,
) -> ApiKeySettings:
    return await service.update_api_key_settings(session, actor=principal, settings=body)


@router.get("/key-cleanup", response_model=KeyCleanupSettings, dependencies=[require(Permission.ADMIN_READ)])
async def get_key_cleanup_settings(session: Session) -> KeyCleanupSettings:
    return await service.get_key_cleanup_settings(session)


@router.put("/key-cleanup", response_model=KeyCleanupSettings)
async def put_key_cleanup_settings(
    session: Session,
    body: KeyCleanupSettings,
    principal: SettingsWriter,
) -> KeyCleanupSettings:
    return await service.update_key_cleanup_settings(session, actor=principal, settings=body)


@router.get("/portal", response_model=PortalSettingsOut, dependencies=[require(Permission.ADMIN_READ)])
async def get_portal_settings(session: Session, settings: AppSettings) -> PortalSettingsOut:
    """Playground limits, the public proxy URL of the examples and the currency label."""
    return await service.get_portal_settings(session, settings)


@router.put("/portal", response_model=PortalSettingsOut)
async def put_portal_settings(
    session: Session, settings: AppSettings, body: PortalSettingsIn, principal: SettingsWriter
) -> PortalSettingsOut:
    """Replace the overrides; a field left out (or null) falls back to the environment's value."""
    return await service.update_portal_settings(session, settings, actor=principal, overrides=body)


@router.get("/user-defaults", response_model=UserDefaults, dependencies=[require(Permission.ADMIN_READ)])
async def get_user_defaults(session: Session) -> UserDefaults:
    """Limits a new user gets at first login (in LiteLLM and here); existing users are not rewritten."""
    return await service.get_user_defaults(session)


@router.put("/user-defaults", response_model=UserDefaults)
async def put_user_defaults(session: Session, body: UserDefaults, principal: SettingsWriter) -> UserDefaults:
    return await service.update_user_defaults(session, actor=principal, defaults=body)
