"""Admin token API payloads."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from litemaas.auth.permissions import Role


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
