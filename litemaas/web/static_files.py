"""``GET /static/<name>.<hash>.<ext>``: the collected assets, cached for a year, precompressed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.web.assets import IMMUTABLE, URL_PREFIX
from litemaas.web.dependencies import get_portal
from litemaas.web.rendering import Portal

router = APIRouter(include_in_schema=False)


def _accepts(request: Request, coding: str) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() == coding and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            return True
    return False


@router.get(URL_PREFIX + "{name:path}", dependencies=[require(Permission.PUBLIC)])
async def static_asset(request: Request, name: str, portal: Annotated[Portal, Depends(get_portal)]) -> Response:
    asset = portal.manifest.get(URL_PREFIX + name)
    if asset is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    headers = {
        "Cache-Control": IMMUTABLE,
        "ETag": asset.etag,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if asset.gzip is not None:
        headers["Vary"] = "Accept-Encoding"
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.br is not None and _accepts(request, "br"):
        body, headers["Content-Encoding"] = asset.br, "br"
    elif asset.gzip is not None and _accepts(request, "gzip"):
        body, headers["Content-Encoding"] = asset.gzip, "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)
