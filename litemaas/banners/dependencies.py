"""Who may change banners (the branding permission), and the portal's banner cache (per process, a few seconds)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.banners.service import BANNER_CACHE, BannerCache

BannerWriter = Annotated[Principal, require(Permission.BRANDING_WRITE)]
"""Changes banners (admin only: banners are part of the portal's branding)."""


def get_banner_cache(request: Request) -> BannerCache:
    return BANNER_CACHE.get(request.app)


PortalBannerCache = Annotated[BannerCache, Depends(get_banner_cache)]
