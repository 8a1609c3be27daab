"""``/api/v1/admin/tokens``: admin API tokens (create shows the secret once; list; revoke)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from litemaas.auth import tokens
from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission, Role
from litemaas.auth.principal import Principal
from litemaas.db import Session
from litemaas.dependencies import AppSettings
from litemaas.errors import NotFound
from litemaas.models.admin_token import AdminToken

router = APIRouter(prefix="/admin/tokens", tags=["admin tokens"])


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.ADMIN_READONLY
    expires_in_days: int | None = Field(
        default=None, ge=1, description="Days until it expires; defaults to LITEMAAS_ADMIN_TOKEN_DEFAULT_DAYS"
    )
    scopes: list[str] | None = Field(default=None, description="Subset of the role's permissions")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: Role
    scopes: list[str] | None
    display_prefix: str
    owner_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown once; only its sha256 is kept.")


@router.post("", response_model=TokenCreated, status_code=201)
async def create_token(
    session: Session,
    settings: AppSettings,
    body: TokenCreate,
    principal: Annotated[Principal, require(Permission.TOKENS_MANAGE)],
) -> TokenCreated:
    created = await tokens.create_token(
        session,
        actor=principal,
        owner_id=principal.user_id,
        owner_role=principal.role,
        name=body.name,
        role=body.role,
        expires_in_days=body.expires_in_days,
        default_days=settings.admin_token_default_days,
        max_days=settings.admin_token_max_days,
        scopes=body.scopes,
    )
    return TokenCreated(**TokenOut.model_validate(created.token).model_dump(), token=created.secret)


@router.get("", response_model=list[TokenOut])
async def list_tokens(
    session: Session,
    principal: Annotated[Principal, require(Permission.ADMIN_READ)],
    include_revoked: bool = False,
) -> list[TokenOut]:
    rows = await tokens.list_tokens(session, actor=principal, include_revoked=include_revoked)
    return [TokenOut.model_validate(t) for t in rows]


@router.delete("/{token_id}", response_model=TokenOut)
async def revoke_token(
    session: Session,
    token_id: uuid.UUID,
    principal: Annotated[Principal, require(Permission.TOKENS_MANAGE)],
) -> TokenOut:
    token = await session.get(AdminToken, token_id)
    if token is None:
        raise NotFound("token not found")
    return TokenOut.model_validate(await tokens.revoke_token(session, actor=principal, token=token))
