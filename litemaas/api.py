"""The ``/api/v1`` router: includes every domain router, nothing else."""

from __future__ import annotations

from fastapi import APIRouter

from litemaas.admin_tokens.router import router as token_router
from litemaas.api_keys.router import router as api_keys_router
from litemaas.audit.router import router as audit_router
from litemaas.auth.router import router as auth_router
from litemaas.backups.router import router as backups_router
from litemaas.banners.router import admin_router as banners_admin_router
from litemaas.banners.router import router as banners_router
from litemaas.branding.router import admin_router as branding_admin_router
from litemaas.branding.router import router as branding_router
from litemaas.events.router import admin_router as events_admin_router
from litemaas.events.router import router as events_router
from litemaas.health.router import router as health_router
from litemaas.jobs.router import router as jobs_router
from litemaas.models_catalog.router import router as models_router
from litemaas.settings_admin.router import router as settings_router
from litemaas.subscriptions.router import router as subscriptions_router
from litemaas.usage.router import admin_router as usage_admin_router
from litemaas.usage.router import router as usage_router
from litemaas.users.router import router as users_router

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(health_router)
api_router.include_router(auth_router)
api_router.include_router(users_router)
api_router.include_router(token_router)
api_router.include_router(audit_router)
api_router.include_router(models_router)
api_router.include_router(subscriptions_router)
api_router.include_router(api_keys_router)
api_router.include_router(settings_router)
api_router.include_router(jobs_router)
api_router.include_router(usage_router)
api_router.include_router(usage_admin_router)
api_router.include_router(backups_router)
api_router.include_router(branding_router)
api_router.include_router(branding_admin_router)
api_router.include_router(banners_router)
api_router.include_router(banners_admin_router)
api_router.include_router(events_router)
api_router.include_router(events_admin_router)
