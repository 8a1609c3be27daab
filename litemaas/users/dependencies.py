"""Typed dependencies of the users domain: the per-request user-state cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from litemaas.kit.app_state import AppSlot
from litemaas.users.cache import UserStateCache

USER_CACHE = AppSlot[UserStateCache]("user_cache")


def get_user_cache(request: Request) -> UserStateCache:
    return USER_CACHE.get(request.app)


UserCache = Annotated[UserStateCache, Depends(get_user_cache)]
