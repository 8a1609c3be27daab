"""Session API payloads."""

from __future__ import annotations

from pydantic import BaseModel

from litemaas.auth.permissions import Role


class SessionInfo(BaseModel):
    id: str
    user_id: str
    username: str
    email: str | None
    display_name: str | None
    role: Role
    via: str
    permissions: list[str]
    groups: list[str]


class ProviderInfo(BaseModel):
    name: str
    label: str
    login_url: str
