"""Who is making a request, and what they may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from litemaas.auth.permissions import Permission, Role, effective_permissions

_ROLE_RANK = {Role.USER: 0, Role.ADMIN_READONLY: 1, Role.ADMIN: 2}


def highest_role(*roles: Role | str | None) -> Role:
    """The most privileged of ``roles`` (``user`` when none is given)."""
    best = Role.USER
    for role in roles:
        if role is not None and _ROLE_RANK[Role(role)] > _ROLE_RANK[best]:
            best = Role(role)
    return best


def lowest_role(a: Role | str, b: Role | str) -> Role:
    return Role(a) if _ROLE_RANK[Role(a)] <= _ROLE_RANK[Role(b)] else Role(b)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a browser session or an admin API token acting for a user."""

    user_id: uuid.UUID
    username: str
    role: Role
    via: Literal["session", "token"]
    # For tokens: the permission subset the token was scoped to (None = all of its role).
    scopes: frozenset[Permission] | None = None
    token_id: uuid.UUID | None = None
    token_name: str | None = None
    # For tokens: when the token itself expires (a token never mints one that outlives it).
    token_expires_at: datetime | None = None
    session_id: str | None = None
    source_ip: str | None = None
    request_id: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        return effective_permissions(self.role, self.scopes)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def label(self) -> str:
        """How the caller appears in audit rows and logs."""
        if self.via == "token":
            return f"token:{self.token_name} ({self.username})"
        return self.username
