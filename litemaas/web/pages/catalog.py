"""The model catalog (placeholder until the catalog page is built on it)."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import HTMLResponse

from litemaas.auth.permissions import Permission
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import page_router

router = page_router()

NAVIGATION = (NavItem("/catalog", N_("Models"), Permission.MODELS_READ, order=10),)


@router.get("/catalog")
async def catalog_page(user: Annotated[PageSession, page_user(Permission.MODELS_READ)], render: Render) -> HTMLResponse:
    return render("catalog/catalog.html", user)
