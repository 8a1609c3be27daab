"""API key routes: a user's own keys, and admin views/actions on anyone's keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter

from litemaas.api_keys import service
from litemaas.api_keys.schemas import (
    CreatedKeyOut,
    KeyCreateIn,
    KeyFormLimits,
    KeyListOut,
    KeyOut,
    KeyUpdateIn,
    RevokeIn,
)
from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.db import Session
from litemaas.kit.pagination import Page, Pagination
from litemaas.litellm_admin.dependencies import LiteLLMAdmin

router = APIRouter(tags=["api keys"])

KeyOwner = Annotated[Principal, require(Permission.KEYS_OWN)]
KeyAdmin = Annotated[Principal, require(Permission.KEYS_ADMIN_WRITE)]
Status = Literal["active", "revoked"]


@router.get("/keys", response_model=KeyListOut)
async def list_own(
    session: Session, litellm: LiteLLMAdmin, principal: KeyOwner, status: Status | None = None
) -> KeyListOut:
    listing, _ = await service.list_keys(session, litellm, user_id=principal.user_id, status=status)
    return listing


@router.get("/keys/limits", response_model=KeyFormLimits)
async def form_limits(session: Session, principal: KeyOwner) -> KeyFormLimits:
    return await service.form_limits(session, principal.user_id)


@router.post("/keys", response_model=CreatedKeyOut, status_code=201)
async def create(session: Session, litellm: LiteLLMAdmin, body: KeyCreateIn, principal: KeyOwner) -> CreatedKeyOut:
    return await service.create_key(session, litellm, actor=principal, user_id=principal.user_id, data=body)


@router.get("/keys/{key_id}", response_model=KeyOut)
async def get_own(session: Session, litellm: LiteLLMAdmin, key_id: uuid.UUID, principal: KeyOwner) -> KeyOut:
    return await service.get_key_view(session, litellm, key_id, owner_id=principal.user_id)


@router.patch("/keys/{key_id}", response_model=KeyOut)
async def update(
    session: Session, litellm: LiteLLMAdmin, key_id: uuid.UUID, body: KeyUpdateIn, principal: KeyOwner
) -> KeyOut:
    return await service.update_key(
        session, litellm, actor=principal, key_id=key_id, owner_id=principal.user_id, data=body
    )


@router.post("/keys/{key_id}/rotate", response_model=CreatedKeyOut)
async def rotate(session: Session, litellm: LiteLLMAdmin, key_id: uuid.UUID, principal: KeyOwner) -> CreatedKeyOut:
    return await service.rotate_key(session, litellm, actor=principal, key_id=key_id, owner_id=principal.user_id)


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
async def revoke(
    session: Session,
    litellm: LiteLLMAdmin,
    key_id: uuid.UUID,
    principal: KeyOwner,
    body: RevokeIn | None = None,
) -> KeyOut:
    return await service.revoke_key(
        session,
        litellm,
        actor=principal,
        key_id=key_id,
        owner_id=principal.user_id,
        reason=body.reason if body else None,
    )


# --------------------------------------------------------------------------- admin


@router.get("/admin/keys", response_model=Page[KeyOut], dependencies=[require(Permission.ADMIN_READ)])
async def admin_list(
    session: Session,
    litellm: LiteLLMAdmin,
    page: Pagination,
    user_id: uuid.UUID | None = None,
    status: Status | None = None,
) -> Page[KeyOut]:
    listing, total = await service.list_keys(
        session, litellm, user_id=user_id, status=status, limit=page.limit, offset=page.offset
    )
    return Page(items=listing.items, total=total, limit=page.limit, offset=page.offset)


@router.get("/admin/keys/{key_id}", response_model=KeyOut, dependencies=[require(Permission.ADMIN_READ)])
async def admin_get(session: Session, litellm: LiteLLMAdmin, key_id: uuid.UUID) -> KeyOut:
    return await service.get_key_view(session, litellm, key_id, owner_id=None)


@router.post("/admin/users/{user_id}/keys", response_model=CreatedKeyOut, status_code=201)
async def admin_create(
    session: Session, litellm: LiteLLMAdmin, user_id: uuid.UUID, body: KeyCreateIn, principal: KeyAdmin
) -> CreatedKeyOut:
    return await service.create_key(session, litellm, actor=principal, user_id=user_id, data=body)


@router.patch("/admin/keys/{key_id}", response_model=KeyOut)
async def admin_update(
    session: Session, litellm: LiteLLMAdmin, key_id: uuid.UUID, body: KeyUpdateIn, principal: KeyAdmin
) -> KeyOut:
    return await service.update_key(session, litellm, actor=principal, key_id=key_id, owner_id=None, data=body)


@router.post("/admin/keys/{key_id}/rotate", response_model=CreatedKeyOut)
async def admin_rotate(
    session: Session, litellm: LiteLLMAdmin, key_id: uuid.UUID, principal: KeyAdmin
) -> CreatedKeyOut:
    return await service.rotate_key(session, litellm, actor=principal, key_id=key_id, owner_id=None)


@router.post("/admin/keys/{key_id}/revoke", response_model=KeyOut)
async def admin_revoke(
    session: Session,
    litellm: LiteLLMAdmin,
    key_id: uuid.UUID,
    principal: KeyAdmin,
    body: RevokeIn | None = None,
) -> KeyOut:
    return await service.revoke_key(
        session, litellm, actor=principal, key_id=key_id, owner_id=None, reason=body.reason if body else None
    )


@router.post("/admin/keys/{key_id}/reset-spend", response_model=KeyOut)
async def admin_reset_spend(session: Session, litellm: LiteLLMAdmin, key_id: uuid.UUID, principal: KeyAdmin) -> KeyOut:
    return await service.reset_spend(session, litellm, actor=principal, key_id=key_id)
