"""Admin views and actions on users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission, Role
from litemaas.db import Session
from litemaas.kit.pagination import Page, Pagination
from litemaas.litellm_admin.dependencies import LiteLLMAdmin, OptionalLiteLLMAdmin
from litemaas.users import limits, service
from litemaas.users.cache import UserCache
from litemaas.users.dependencies import UserWriter
from litemaas.users.schemas import (
    ActiveChange,
    ApplyDefaultsIn,
    ApplyDefaultsOut,
    RoleChange,
    UserLimitsIn,
    UserLimitsOut,
    UserOut,
)

router = APIRouter(prefix="/admin/users", tags=["users"])


@router.get("", response_model=Page[UserOut], dependencies=[require(Permission.ADMIN_READ)])
async def list_users(
    session: Session,
    page: Pagination,
    search: Annotated[str | None, Query(max_length=200)] = None,
    role: Role | None = None,
    active: bool | None = None,
    provider: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[UserOut]:
    rows, total = await service.list_users(
        session, search=search, role=role, active=active, provider=provider, limit=page.limit, offset=page.offset
    )
    return Page(items=[UserOut.model_validate(u) for u in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/{user_id}", response_model=UserOut, dependencies=[require(Permission.ADMIN_READ)])
async def get_user(session: Session, user_id: uuid.UUID) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, user_id))


@router.put("/{user_id}/role", response_model=UserOut)
async def change_role(
    session: Session,
    cache: UserCache,
    user_id: uuid.UUID,
    body: RoleChange,
    principal: UserWriter,
) -> UserOut:
    user = await service.set_manual_role(
        session,
        actor=principal,
        user=await service.get_user(session, user_id),
        role=body.role,
        cache=cache,
        reason=body.reason,
    )
    return UserOut.model_validate(user)


@router.put("/{user_id}/active", response_model=UserOut)
async def change_active(
    session: Session,
    cache: UserCache,
    litellm: OptionalLiteLLMAdmin,
    user_id: uuid.UUID,
    body: ActiveChange,
    principal: UserWriter,
) -> UserOut:
    user = await service.set_active(
        session,
        actor=principal,
        user=await service.get_user(session, user_id),
        active=body.is_active,
        cache=cache,
        reason=body.reason,
        litellm=litellm,
    )
    return UserOut.model_validate(user)


@router.get("/{user_id}/limits", response_model=UserLimitsOut, dependencies=[require(Permission.ADMIN_READ)])
async def get_limits(session: Session, litellm: LiteLLMAdmin, user_id: uuid.UUID) -> UserLimitsOut:
    return await limits.get_user_limits(session, litellm, user_id)


@router.put("/{user_id}/limits", response_model=UserLimitsOut)
async def set_limits(
    session: Session,
    litellm: LiteLLMAdmin,
    user_id: uuid.UUID,
    body: UserLimitsIn,
    principal: UserWriter,
) -> UserLimitsOut:
    return await limits.set_user_limits(session, litellm, actor=principal, user_id=user_id, data=body)


@router.post("/apply-defaults", response_model=ApplyDefaultsOut)
async def apply_defaults(
    session: Session, litellm: LiteLLMAdmin, body: ApplyDefaultsIn, principal: UserWriter
) -> ApplyDefaultsOut:
    """Give every active user the defaults for new users (LiteLLM first, then ours; per-user results)."""
    return await limits.apply_defaults(session, litellm, actor=principal, confirm=body.confirm, reason=body.reason)


@router.post("/{user_id}/reset-spend", response_model=UserLimitsOut)
async def reset_spend(
    session: Session, litellm: LiteLLMAdmin, user_id: uuid.UUID, principal: UserWriter
) -> UserLimitsOut:
    """Set the user's spend in LiteLLM back to 0 (their user budget starts again)."""
    return await limits.reset_user_spend(session, litellm, actor=principal, user_id=user_id)
