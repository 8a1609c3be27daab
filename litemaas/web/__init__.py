"""Server-rendered portal: page routes (``pages/``), templates, assets and their wiring.

``install_portal(app)`` collects the assets, reads the translations, discovers the page modules
and includes their routers; ``create_app`` calls it.
"""

from __future__ import annotations

from fastapi import FastAPI

from litemaas.web.assets import default_manifest
from litemaas.web.dependencies import PORTAL
from litemaas.web.i18n import load_catalogs
from litemaas.web.pages import navigation, page_routers
from litemaas.web.rendering import Portal
from litemaas.web.static_files import router as static_router

__all__ = ["install_portal"]


def install_portal(app: FastAPI) -> None:

    PORTAL.set(app, Portal(manifest=default_manifest(), catalogs=load_catalogs(), navigation=navigation()))
    app.include_router(static_router)
    for router in page_routers():
        app.include_router(router)
