"""Typed dependencies of the users domain: the per-request user-state cache and the provisioner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from litemaas.kit.app_state import AppSlot
from litemaas.users.cache import UserStateCache
from litemaas.users.provisioning import UserProvisioner

USER_CACHE = AppSlot[UserStateCache]("user_cache")
# None when LiteLLM is not configured: logins then skip creating the LiteLLM user.
USER_PROVISIONER = AppSlot[UserProvisioner | None]("user_provisioner")


def get_user_cache(request: Request) -> UserStateCache:
    return USER_CACHE.get(request.app)


def get_user_provisioner(request: Request) -> UserProvisioner | None:
    return USER_PROVISIONER.get(request.app)


UserCache = Annotated[UserStateCache, Depends(get_user_cache)]
Provisioner = Annotated[UserProvisioner | None, Depends(get_user_provisioner)]
