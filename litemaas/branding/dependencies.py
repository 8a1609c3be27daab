"""Who may change the branding and banners, and the portal's branding cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.branding.service import BRANDING_CACHE, BrandingCache

BrandingWriter = Annotated[Principal, require(Permission.BRANDING_WRITE)]
"""Changes branding and banners (admin only)."""


def get_branding_cache(request: Request) -> BrandingCache:
    return BRANDING_CACHE.get(request.app)


PortalBrandingCache = Annotated[BrandingCache, Depends(get_branding_cache)]
