"""The entry pages: ``/`` (to the catalog) and ``/login`` (providers, development form, errors)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Query
from fastapi.responses import RedirectResponse, Response

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission, Role
from litemaas.web.dependencies import IdentityProviders, MaybePageUser, PortalSettings, Render
from litemaas.web.rendering import same_origin_path
from litemaas.web.routing import page_router

router = page_router()

HOME = "/catalog"
# Error codes are ours (set by the login flows); anything else shows the generic message.
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


@router.get("/", dependencies=[require(Permission.PUBLIC)])
async def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login", dependencies=[require(Permission.PUBLIC)])
async def login_page(
    render: Render,
    settings: PortalSettings,
    providers: IdentityProviders,
    user: MaybePageUser,
    next: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=64)] = None,
    logged_out: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    next_path = same_origin_path(next)
    if user is not None and error is None:
        return RedirectResponse(HOME if next_path == "/" else next_path, status_code=303)
    return render(
        "login/login.html",
        None,
        providers=sorted(providers),
        dev_login=settings.dev_login_enabled and settings.environment == "development",
        roles=list(Role),
        next_path=next_path,
        error=error if error is None or _ERROR_CODE.match(error) else "unknown",
        logged_out=logged_out is not None,
    )
