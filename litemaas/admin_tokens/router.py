"""``/api/v1/admin/tokens``: admin API tokens (create shows the secret once; list; revoke)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from litemaas.admin_tokens import service
from litemaas.admin_tokens.dependencies import TokenManager, TokenReader
from litemaas.admin_tokens.schemas import TokenCreate, TokenCreated, TokenOut
from litemaas.db import Session
from litemaas.dependencies import AppSettings

router = APIRouter(prefix="/admin/tokens", tags=["admin tokens"])


@router.post("", response_model=TokenCreated, status_code=201)
async def create_token(
    settings: AppSettings,
    session: Session,
    body: TokenCreate,
    principal: TokenManager,
) -> TokenCreated:
    created = await service.create_token(
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
    principal: TokenReader,
    include_revoked: bool = False,
) -> list[TokenOut]:
    rows = await service.list_tokens(session, actor=principal, include_revoked=include_revoked)
    return [TokenOut.model_validate(t) for t in rows]


@router.delete("/{token_id}", response_model=TokenOut)
async def revoke_token(
    session: Session,
    token_id: uuid.UUID,
    principal: TokenManager,
) -> TokenOut:
    token = await service.get_token(session, token_id)
    return TokenOut.model_validate(await service.revoke_token(session, actor=principal, token=token))
