"""Page modules, one per area. Each defines ``router = page_router()`` and may define ``NAVIGATION``.

Every module in this package is included by ``install_portal``: adding a page is a module here,
a template under ``templates/<area>/`` and a test.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from fastapi import APIRouter

from litemaas.web.layout import NavItem


def page_modules() -> list[ModuleType]:
    """Every page module, in name order."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def page_routers() -> list[APIRouter]:
    routers = []
    for module in page_modules():
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            raise TypeError(f"{module.__name__} defines no `router = page_router()`")
        routers.append(router)
    return routers


def navigation() -> list[NavItem]:
    return [item for module in page_modules() for item in getattr(module, "NAVIGATION", ())]
