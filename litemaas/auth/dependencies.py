"""Typed dependencies that authenticate a request and enforce one permission per route.

Routes declare their permission either as a route dependency::

    @router.post("/things", dependencies=[require(Permission.MODELS_WRITE)])

or as a typed parameter when they need the caller::

    async def create(principal: Annotated[Principal, require(Permission.KEYS_OWN)]): ...

``require(Permission.PUBLIC)`` marks a route explicitly public. The route x role test walks
every ``/api`` route and fails when none of these is declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam

from litemaas.admin_tokens.service import authenticate_token, looks_like_admin_token
from litemaas.auth.errors import AuthenticationRequired, CredentialRejected, CsrfFailed, PermissionDenied
from litemaas.auth.permissions import Permission, Role
from litemaas.auth.principal import Principal, lowest_role
from litemaas.auth.providers import IdentityProvider
from litemaas.auth.sessions import CSRF_HEADER, SessionManager
from litemaas.db import Session
from litemaas.kit.app_state import AppSlot
from litemaas.kit.crypto import constant_time_equals
from litemaas.users.cache import UserCache, UserStateCache

log = structlog.get_logger("litemaas.auth")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PERMISSION_ATTR = "__litemaas_permission__"

__all__ = [
    "AdminReader",
    "BrowserSessions",
    "CurrentPrincipal",
    "IdentityProviders",
    "OptionalPrincipal",
    "Principal",
    "declared_permission",
    "get_principal",
    "require",
]


SESSIONS = AppSlot[SessionManager]("sessions")
# Enabled login providers by name ("openshift", "oidc"); the development login is not one.
IDENTITY_PROVIDERS = AppSlot[Mapping[str, IdentityProvider]]("identity_providers")


def get_sessions(request: Request) -> SessionManager:
    return SESSIONS.get(request.app)


def get_identity_providers(request: Request) -> Mapping[str, IdentityProvider]:
    return IDENTITY_PROVIDERS.get(request.app)


BrowserSessions = Annotated[SessionManager, Depends(get_sessions)]
IdentityProviders = Annotated[Mapping[str, IdentityProvider], Depends(get_identity_providers)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise CredentialRejected("malformed Authorization header")
    return value.strip()


async def get_principal(
    request: Request, session: Session, users: UserCache, sessions: BrowserSessions
) -> Principal | None:
    """The authenticated caller, or None for an anonymous request (never a default user)."""
    cached: Any = getattr(request.state, "principal", _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[no-any-return]
    principal = await _authenticate(request, session, users, sessions)
    request.state.principal = principal
    if principal is not None:
        structlog.contextvars.bind_contextvars(user_id=str(principal.user_id), auth_via=principal.via)
    return principal


_MISSING = object()


async def _authenticate(
    request: Request, session: Session, users: UserStateCache, sessions: SessionManager
) -> Principal | None:
    request_id = getattr(request.state, "request_id", None)
    bearer = _bearer(request)
    if bearer is not None:
        # A presented credential that fails is a 401, never a fallback to the cookie.
        if not looks_like_admin_token(bearer):
            raise CredentialRejected("invalid token")
        token = await authenticate_token(session, bearer)
        if token is None:
            raise CredentialRejected("invalid, expired or revoked token")
        owner = await users.get(session, token.owner_id)
        if owner is None or not owner.is_active:
            raise CredentialRejected("token owner is deactivated")
        return Principal(
            user_id=owner.user_id,
            username=owner.username,
            role=lowest_role(token.role, owner.role),
            via="token",
            scopes=frozenset(Permission(s) for s in token.scopes) if token.scopes is not None else None,
            token_id=token.id,
            token_name=token.name,
            token_expires_at=token.expires_at,
            source_ip=client_ip(request),
            request_id=request_id,
        )
    cookie = request.cookies.get(sessions.cookie_name)
    if not cookie:
        return None
    claims = sessions.decode(cookie)
    if claims is None or await sessions.is_revoked(session, claims.session_id):
        return None
    user = await users.get(session, claims.user_id)
    if user is None or not user.is_active:
        return None
    if request.method not in SAFE_METHODS:
        # A page form sends the token as a field (read by litemaas.web.dependencies.lift_form_csrf).
        sent = request.headers.get(CSRF_HEADER, "") or getattr(request.state, "csrf_form_token", "")
        if not sent or not constant_time_equals(sent, claims.csrf):
            log.info("auth.csrf.rejected", path=request.url.path)
            raise CsrfFailed("missing or invalid CSRF token")
    if sessions.needs_refresh(claims):
        # Picked up by the request middleware, which sets the renewed cookies.
        request.state.session_refresh = sessions.refresh(claims)
    return Principal(
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        via="session",
        session_id=claims.session_id,
        source_ip=client_ip(request),
        request_id=request_id,
    )


@cache
def require(permission: Permission) -> DependsParam:
    """A dependency that admits only callers holding ``permission`` and returns the Principal.

    For ``Permission.PUBLIC`` it admits everyone and returns None; use ``OptionalPrincipal``
    on a public route that adapts to a logged-in caller.
    """

    if permission is Permission.PUBLIC:
        # Public routes (health probes, login pages) must not even open a database session.
        async def public() -> None:
            return None

        setattr(public, PERMISSION_ATTR, permission)
        marker: DependsParam = Depends(public)
        return marker

    async def dependency(principal: Annotated[Principal | None, Depends(get_principal)]) -> Principal:
        if principal is None:
            raise AuthenticationRequired("authentication required")
        if not principal.can(permission):
            raise PermissionDenied(f"requires permission '{permission.value}'")
        return principal

    dependency.__name__ = f"require_{permission.name.lower()}"
    setattr(dependency, PERMISSION_ATTR, permission)
    guard: DependsParam = Depends(dependency)
    return guard


def declared_permission(call: Any) -> Permission | None:
    """The permission a dependency callable enforces, if it is one made by ``require``."""
    value = getattr(call, PERMISSION_ATTR, None)
    return value if isinstance(value, Permission) else None


CurrentPrincipal = Annotated[Principal, require(Permission.AUTHENTICATED)]
AdminReader = Annotated[Principal, require(Permission.ADMIN_READ)]


async def _optional_principal(principal: Annotated[Principal | None, Depends(get_principal)]) -> Principal | None:
    return principal


setattr(_optional_principal, PERMISSION_ATTR, Permission.PUBLIC)
OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]

__all__ += ["Role", "client_ip"]
