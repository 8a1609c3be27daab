"""Admin settings routes (viewable by admin_readonly, changeable by admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.settings_admin import service
from litemaas.settings_admin.dependencies import SettingsWriter
from litemaas.settings_admin.schemas import ApiKeySettings

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
