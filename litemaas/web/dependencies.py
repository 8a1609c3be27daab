"""Typed dependencies of the page routes: the page's user, its renderer, settings and providers.

Page code reaches application state only through these functions, which read the typed
application slots (``kit.app_state.AppSlot``) the lifespan and ``install_portal`` fill.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from functools import cache
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from markupsafe import Markup

from litemaas.auth.dependencies import PERMISSION_ATTR, SAFE_METHODS, BrowserSessions, get_principal, get_sessions
from litemaas.auth.dependencies import get_identity_providers as auth_identity_providers
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.auth.providers import IdentityProvider
from litemaas.auth.sessions import CSRF_HEADER
from litemaas.banners import service as banners_service
from litemaas.banners.schemas import VisibleBanner
from litemaas.branding import service as branding_service
from litemaas.branding.images import MAX_IMAGE_BYTES
from litemaas.branding.schemas import BrandingOut, ImageSlot
from litemaas.config import Settings
from litemaas.db import Session
from litemaas.dependencies import get_app_settings
from litemaas.errors import LiteMaaSError, Unauthorized
from litemaas.kit.app_state import AppSlot
from litemaas.users.cache import UserCache
from litemaas.web.layout import DEFAULT_BRANDING, Banner, Branding
from litemaas.web.rendering import LoginRequired, PageForbidden, PageRenderer, PageSession, Portal

__all__ = [
    "CSRF_FORM_FIELD",
    "IdentityProviders",
    "MaybePageUser",
    "PageUser",
    "PortalSettings",
    "Render",
    "page_user",
    "render_for",
    "session_for",
]

# The form field every page form carries (``{{ csrf_field() }}``); the same value htmx sends
# in the X-CSRF-Token header.
CSRF_FORM_FIELD = "csrf_token"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Any portal form body, checked before authentication: twice the largest upload (a branding
# image), so an image just over its own limit still gets the branding page's explanation.
MAX_FORM_BYTES = 2 * MAX_IMAGE_BYTES


PORTAL = AppSlot[Portal]("portal")


def get_portal(request: Request) -> Portal:
    return PORTAL.get(request.app)


def get_portal_settings(request: Request) -> Settings:
    return get_app_settings(request)


def get_identity_providers(request: Request) -> Mapping[str, IdentityProvider]:
    return auth_identity_providers(request)


PortalSettings = Annotated[Settings, Depends(get_portal_settings)]
IdentityProviders = Annotated[Mapping[str, IdentityProvider], Depends(get_identity_providers)]


def _csrf_token(request: Request, principal: Principal) -> str:
    if principal.via != "session":
        return ""
    sessions = get_sessions(request)
    cookie = request.cookies.get(sessions.cookie_name)
    claims = sessions.decode(cookie) if cookie else None
    return claims.csrf if claims is not None else ""


def session_for(request: Request) -> PageSession | None:
    """The caller as authenticated earlier in this request, if authentication got that far."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        return None
    return PageSession(principal=principal, csrf_token=_csrf_token(request, principal))


async def lift_form_csrf(request: Request) -> AsyncIterator[None]:
    """Let a plain HTML form carry the CSRF token as a field: such forms work without scripts.

    Runs before authentication, which accepts the field as it accepts the header. When the request
    is over, the parsed form is closed here, whoever parsed it: an upload spooled to a temporary
    file (a refused one included) is not left to the garbage collector.
    """
    if request.method in SAFE_METHODS or not request.headers.get("content-type", "").startswith(_FORM_TYPES):
        yield
        return
    # A form is parsed here or in its handler, and this runs before authentication: bound the body
    # first, or anyone could make the server spool an upload of any size to disk.
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise LiteMaaSError("a form must be sent with a Content-Length", status=411, code="length_required")
    if int(declared) > MAX_FORM_BYTES:
        raise LiteMaaSError(
            f"the form is {declared} bytes: at most {MAX_FORM_BYTES} (uploads are limited to 2 MB)",
            status=413,
            code="form_too_large",
        )
    try:
        if CSRF_HEADER not in request.headers:
            token = (await request.form()).get(CSRF_FORM_FIELD)
            if isinstance(token, str):
                request.state.csrf_form_token = token
        yield
    finally:
        await request.close()


async def _layout_principal(
    request: Request,
    _form_csrf: Annotated[None, Depends(lift_form_csrf)],
    session: Session,
    users: UserCache,
    sessions: BrowserSessions,
) -> Principal | None:
    """The caller, for the layout's banners; None when anonymous or when the credential fails
    (the page's own ``page_user`` answers for that: a redirect to login, or the 403 page)."""
    try:
        return await get_principal(request, session, users, sessions)
    except LiteMaaSError:
        return None


def _layout_branding(
    look: BrandingOut | None, banners: list[VisibleBanner] | tuple[VisibleBanner, ...] = ()
) -> Branding:
    if look is None:
        return DEFAULT_BRANDING
    urls = {slot: image.url if image is not None else None for slot, image in look.images.items()}
    light = urls[ImageSlot.LOGO_LIGHT]
    return Branding(
        product_name=look.title,
        subtitle=look.subtitle,
        logo_url=light or urls[ImageSlot.LOGO_DARK],
        logo_dark_url=urls[ImageSlot.LOGO_DARK] if light else None,
        login_logo_url=urls[ImageSlot.LOGIN_LOGO] or light,
        footer_text=look.footer_text,
        banners=tuple(
            Banner(
                text=banner.message_html,
                level=_LEVELS.get(banner.severity, "info"),
                link_url=banner.link_url,
                link_text=banner.link_text,
                id=str(banner.id),
                # Rendered by the banners domain: escaped first, then only its own tags added.
                html=Markup(banner.message_html),  # noqa: S704
                dismissible=banner.dismissible,
            )
            for banner in banners
        ),
    )


_LEVELS: dict[str, Literal["info", "success", "warning", "danger"]] = {
    "info": "info",
    "success": "success",
    "warning": "warning",
    "danger": "danger",
}


async def get_branding(
    request: Request,
    session: Session,
    principal: Annotated[Principal | None, Depends(_layout_principal)],
) -> Branding:
    """The stored branding (cached for a few seconds per replica) and the caller's banners."""
    look = await branding_service.portal_branding(session, branding_service.BRANDING_CACHE.get(request.app))
    banners: list[VisibleBanner] = []
    if principal is not None:
        cache = banners_service.BANNER_CACHE.get(request.app)
        banners = await banners_service.banners_for(
            session, user_id=principal.user_id, role=principal.role, cache=cache
        )
    return _layout_branding(look, banners)


def get_render(
    request: Request,
    portal: Annotated[Portal, Depends(get_portal)],
    branding: Annotated[Branding, Depends(get_branding)],
) -> PageRenderer:
    return PageRenderer(portal, request, branding)


Render = Annotated[PageRenderer, Depends(get_render)]


def render_for(request: Request) -> PageRenderer:
    """The renderer for a request whose route failed before its dependencies were all solved.

    The branding is the last one read (no database here); banners are left out of error pages.
    """
    try:
        look = branding_service.BRANDING_CACHE.get(request.app).peek()
    except RuntimeError:  # the lifespan has not run (an app built for a route listing)
        look = None
    return PageRenderer(get_portal(request), request, _layout_branding(look))


@cache
def page_user(permission: Permission) -> DependsParam:
    """The logged-in caller holding ``permission``: else a redirect to login, or the 403 page."""

    async def dependency(
        request: Request,
        _form_csrf: Annotated[None, Depends(lift_form_csrf)],
        principal: Annotated[Principal | None, Depends(get_principal)],
    ) -> PageSession:
        if principal is None:
            raise LoginRequired()
        if not principal.can(permission):
            raise PageForbidden(permission)
        return PageSession(principal=principal, csrf_token=_csrf_token(request, principal))

    dependency.__name__ = f"page_user_{permission.name.lower()}"
    setattr(dependency, PERMISSION_ATTR, permission)
    marker: DependsParam = Depends(dependency)
    return marker


# Any logged-in user; a page that needs more declares ``Annotated[PageSession, page_user(P)]``.
PageUser = Annotated[PageSession, page_user(Permission.AUTHENTICATED)]


async def _maybe_page_user(
    request: Request, session: Session, users: UserCache, sessions: BrowserSessions
) -> PageSession | None:
    try:
        principal = await get_principal(request, session, users, sessions)
    except Unauthorized:
        # A public page shows itself to a caller whose credential failed (no redirect loop).
        return None
    return PageSession(principal=principal, csrf_token=_csrf_token(request, principal)) if principal else None


# On a public page (GET only): the logged-in user if there is one.
MaybePageUser = Annotated[PageSession | None, Depends(_maybe_page_user)]
