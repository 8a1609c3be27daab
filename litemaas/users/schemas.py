"""Users API payloads."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from litemaas.auth.permissions import Role


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str | None
    display_name: str | None
    identity_provider: str
    role: Role
    group_role: Role | None
    manual_role: Role | None
    groups: list[str]
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    deactivated_at: datetime | None


class RoleChange(BaseModel):
    """The manually granted role; ``user`` revokes the grant (group-derived roles still apply)."""

    role: Role
    reason: str | None = Field(default=None, max_length=1000)


class ActiveChange(BaseModel):
    is_active: bool
    reason: str | None = Field(default=None, max_length=1000)
