"""Roles and the permissions they grant. Every route declares exactly one permission (or PUBLIC)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    ADMIN_READONLY = "admin_readonly"
    ADMIN = "admin"


class TokenRole(StrEnum):
    """The roles an admin API token may carry: tokens are for admin scripts, never ``user``."""

    ADMIN = Role.ADMIN.value
    ADMIN_READONLY = Role.ADMIN_READONLY.value


class Permission(StrEnum):
    # Explicitly public (health probes, /metrics, branding, login pages).
    PUBLIC = "public"
    # Any logged-in user, acting on their own data.
    AUTHENTICATED = "authenticated"
    MODELS_READ = "models:read"
    SUBSCRIPTIONS_OWN = "subscriptions:own"
    KEYS_OWN = "keys:own"
    USAGE_OWN = "usage:own"
    PLAYGROUND_USE = "playground:use"
    # Admin views (admin and admin_readonly).
    ADMIN_READ = "admin:read"
    # System-wide usage analytics and exports (admin and admin_readonly).
    USAGE_ADMIN_READ = "usage:admin_read"
    # Admin changes (admin only), split by area so tokens can be scoped.
    MODELS_WRITE = "models:write"
    SUBSCRIPTIONS_DECIDE = "subscriptions:decide"
    KEYS_ADMIN_WRITE = "keys:admin_write"
    USERS_WRITE = "users:write"
    SETTINGS_WRITE = "settings:write"
    TOKENS_MANAGE = "tokens:manage"
    OPERATIONS_RUN = "operations:run"
    BRANDING_WRITE = "branding:write"
    # Workshop events: create, change, end, seat (admin only; an event's hosts manage that event
    # alone, checked per event by the events domain).
    EVENTS_WRITE = "events:write"
    # Refreshing or rebuilding the usage cache from LiteLLM (admin only).
    USAGE_ADMIN_REFRESH = "usage:admin_refresh"


_USER = {
    Permission.PUBLIC,
    Permission.AUTHENTICATED,
    Permission.MODELS_READ,
    Permission.SUBSCRIPTIONS_OWN,
    Permission.KEYS_OWN,
    Permission.USAGE_OWN,
    Permission.PLAYGROUND_USE,
}
_ADMIN_READONLY = _USER | {Permission.ADMIN_READ, Permission.USAGE_ADMIN_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.USER: frozenset(_USER),
    Role.ADMIN_READONLY: frozenset(_ADMIN_READONLY),
    Role.ADMIN: frozenset(Permission),
}


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def effective_permissions(role: Role, scopes: frozenset[Permission] | None) -> frozenset[Permission]:
    """What a caller holding ``role`` limited to ``scopes`` (None = the whole role) may do."""
    granted = ROLE_PERMISSIONS[role]
    if scopes is not None:
        # PUBLIC/AUTHENTICATED stay so a scoped token can still call /me and health.
        granted = granted & (scopes | {Permission.PUBLIC, Permission.AUTHENTICATED})
    return granted
