"""Login flows (browser redirects under ``/auth``) and the session API under ``/api/v1/auth``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from litemaas.auth.dependencies import BrowserSessions, CurrentPrincipal, IdentityProviders, client_ip, require
from litemaas.auth.errors import CsrfFailed, LoginFailed, LoginProviderNotFound
from litemaas.auth.identity import LoginIdentity
from litemaas.auth.oauth_state import consume_state, create_state
from litemaas.auth.permissions import Permission, Role
from litemaas.auth.providers import IdentityProvider
from litemaas.auth.schemas import ProviderInfo, SessionInfo
from litemaas.auth.sessions import CSRF_HEADER, SessionManager
from litemaas.config import Settings
from litemaas.db import Session
from litemaas.dependencies import AppSettings
from litemaas.errors import LiteMaaSError
from litemaas.kit.crypto import constant_time_equals, random_token
from litemaas.litellm_admin.client import LiteLLMAdminClient
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin
from litemaas.users import service as users
from litemaas.users.cache import UserCache, UserStateCache

log = structlog.get_logger("litemaas.auth")

# Browser flows: redirects and forms, not part of the JSON API.
login_router = APIRouter(prefix="/auth", tags=["login"], include_in_schema=True)
# JSON session API for the portal and scripts.
router = APIRouter(prefix="/auth", tags=["auth"])

LOGIN_COOKIE = "litemaas_login"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}$")


def safe_return_to(value: str | None) -> str:
    """Only local paths: an open redirect after login would hand the session page to anyone."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _provider(providers: Mapping[str, IdentityProvider], name: str) -> IdentityProvider:
    provider = providers.get(name)
    if provider is None:
        raise LoginProviderNotFound(f"login provider '{name}' is not enabled")
    return provider


async def _finish_login(
    request: Request,
    session: Session,
    identity: LoginIdentity,
    return_to: str,
    *,
    settings: Settings,
    cache: UserStateCache,
    litellm: LiteLLMAdminClient | None,
    sessions: SessionManager,
) -> Response:
    result = await users.login(
        session,
        identity,
        group_role_map=settings.group_role_map,
        cache=cache,
        litellm=litellm,
        source_ip=client_ip(request),
    )
    token, claims = sessions.issue(result.user.id, provider=identity.provider)
    response = RedirectResponse(return_to, status_code=303)
    sessions.set_cookies(response, token, claims)
    response.delete_cookie(LOGIN_COOKIE, path="/auth")
    request.state.session_cleared = True
    log.info("auth.login.done", provider=identity.provider, user_id=str(result.user.id), created=result.created)
    return response


def _login_error(code: str) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"error": code}), status_code=303)


@login_router.get("/{provider_name}/start", dependencies=[require(Permission.PUBLIC)])
async def start_login(
    session: Session,
    settings: AppSettings,
    providers: IdentityProviders,
    provider_name: str,
    # Kept in oauth_states.return_to (varchar(2048)) until the browser comes back.
    return_to: Annotated[str | None, Query(alias="next", max_length=2048)] = None,
) -> RedirectResponse:
    """Redirect the browser to the identity provider (state, nonce and PKCE verifier kept in the DB)."""
    if provider_name not in ("openshift", "oidc"):
        raise LoginProviderNotFound("unknown login provider")
    provider = _provider(providers, provider_name)
    pending = await create_state(
        session,
        provider=provider_name,
        ttl_seconds=settings.oauth_state_ttl_seconds,
        return_to=safe_return_to(return_to),
        nonce=random_token(24) if provider_name == "oidc" else None,
        code_verifier=random_token(48),
    )
    url = await provider.authorization_url(
        state=pending.state, nonce=pending.nonce, code_verifier=pending.code_verifier
    )
    # The state must be visible to every replica before the browser comes back.
    await session.commit()
    response = RedirectResponse(url, status_code=303)
    # Binds the login to this browser: a callback URL replayed in another browser fails.
    response.set_cookie(
        LOGIN_COOKIE,
        pending.state,
        max_age=settings.oauth_state_ttl_seconds,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/auth",
    )
    log.info("auth.login.started", provider=provider_name)
    return response


@login_router.get("/{provider_name}/callback", dependencies=[require(Permission.PUBLIC)])
async def login_callback(  # noqa: PLR0911  each failure of the identity provider's answer ends in its own redirect
    request: Request,
    session: Session,
    settings: AppSettings,
    providers: IdentityProviders,
    cache: UserCache,
    litellm: OptionalLiteLLMAdmin,
    sessions: BrowserSessions,
    provider_name: str,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """Finish a login on any replica: single-use state, code exchange, identity, session cookie."""
    if provider_name not in ("openshift", "oidc"):
        raise LoginProviderNotFound("unknown login provider")
    provider = _provider(providers, provider_name)
    if error is not None:
        log.info("auth.login.idp_error", provider=provider_name, error=error[:100])
        return _login_error("idp_refused")
    if not code or not state:
        return _login_error("invalid_callback")
    browser_state = request.cookies.get(LOGIN_COOKIE)
    if browser_state is None or not constant_time_equals(browser_state, state):
        log.info("auth.login.state_mismatch", provider=provider_name)
        return _login_error("invalid_state")
    pending = await consume_state(session, state=state, provider=provider_name)
    # Consumed for good, even if the rest fails: a state is never usable twice.
    await session.commit()
    if pending is None:
        log.info("auth.login.state_unknown", provider=provider_name)
        return _login_error("invalid_state")
    try:
        identity = await provider.complete(code=code, nonce=pending.nonce, code_verifier=pending.code_verifier)
        return await _finish_login(
            request,
            session,
            identity,
            pending.return_to,
            settings=settings,
            cache=cache,
            litellm=litellm,
            sessions=sessions,
        )
    except LoginFailed as exc:
        log.info("auth.login.failed", provider=provider_name, reason=exc.message)
        return _login_error("login_failed")
    except LiteMaaSError as exc:
        log.info("auth.login.refused", provider=provider_name, code=exc.code)
        return _login_error(exc.code)


@login_router.post("/dev", dependencies=[require(Permission.PUBLIC)])
async def dev_login(
    request: Request,
    session: Session,
    settings: AppSettings,
    cache: UserCache,
    litellm: OptionalLiteLLMAdmin,
    sessions: BrowserSessions,
    username: Annotated[str, Form()],
    role: Annotated[Role, Form()] = Role.USER,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Development login: pick a username and a role. Absent unless explicitly enabled in development."""
    if not (settings.dev_login_enabled and settings.environment == "development"):
        raise LoginProviderNotFound("not found")
    username = username.strip()
    if not _USERNAME.match(username):
        return _login_error("invalid_username")
    identity = LoginIdentity(provider="dev", subject=username, username=username, dev_role=role)
    try:
        return await _finish_login(
            request,
            session,
            identity,
            safe_return_to(next),
            settings=settings,
            cache=cache,
            litellm=litellm,
            sessions=sessions,
        )
    except LiteMaaSError as exc:
        return _login_error(exc.code)


@router.get("/me", response_model=SessionInfo)
async def me(principal: CurrentPrincipal, session: Session) -> SessionInfo:
    user = await users.get_user(session, principal.user_id)
    return SessionInfo(
        id=str(principal.user_id),
        user_id=str(principal.user_id),
        username=principal.username,
        email=user.email,
        display_name=user.display_name,
        role=principal.role,
        via=principal.via,
        permissions=sorted(p.value for p in principal.permissions),
        groups=list(user.groups),
    )


@router.get("/providers", response_model=list[ProviderInfo], dependencies=[require(Permission.PUBLIC)])
async def providers(settings: AppSettings, identity_providers: IdentityProviders) -> list[ProviderInfo]:
    result = [
        ProviderInfo(name=name, label=p.label, login_url=f"/auth/{name}/start")
        for name, p in identity_providers.items()
    ]
    if settings.dev_login_enabled and settings.environment == "development":
        result.append(ProviderInfo(name="dev", label="Development login", login_url="/login#dev"))
    return result


async def _logout(
    request: Request,
    session: Session,
    sessions: SessionManager,
    providers: Mapping[str, IdentityProvider],
    csrf_from_form: str | None,
) -> tuple[Response | None, str | None]:
    cookie = request.cookies.get(sessions.cookie_name)
    claims = sessions.decode(cookie) if cookie else None
    if claims is not None:
        sent = request.headers.get(CSRF_HEADER) or csrf_from_form or ""
        if not sent or not constant_time_equals(sent, claims.csrf):
            raise CsrfFailed("missing or invalid CSRF token")
        await sessions.revoke(session, claims)
        log.info("auth.logout.done", user_id=str(claims.user_id))
    logout_url = None
    if claims is not None and claims.provider:
        provider = providers.get(claims.provider)
        if provider is not None:
            logout_url = await provider.logout_url()
    return None, logout_url


@router.post("/logout", dependencies=[require(Permission.PUBLIC)])
async def logout_api(
    request: Request, session: Session, sessions: BrowserSessions, providers: IdentityProviders
) -> JSONResponse:
    """End the session (CSRF header required when a session exists); returns the IdP logout URL if any."""
    _, logout_url = await _logout(request, session, sessions, providers, None)
    response = JSONResponse({"status": "logged_out", "logout_url": logout_url})
    sessions.clear_cookies(response)
    request.state.session_cleared = True
    return response


@login_router.post("/logout", dependencies=[require(Permission.PUBLIC)])
async def logout_form(
    request: Request,
    session: Session,
    sessions: BrowserSessions,
    providers: IdentityProviders,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    _, logout_url = await _logout(request, session, sessions, providers, csrf_token)
    response = RedirectResponse(logout_url or "/login?logged_out=1", status_code=303)
    sessions.clear_cookies(response)
    request.state.session_cleared = True
    return response
