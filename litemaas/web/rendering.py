"""Rendering pages: one Jinja2 environment per locale, the request-bound renderer, page headers.

Templates are autoescaped, translated through gettext (``{{ _("...") }}``, ``{% trans %}``) and
get the layout's context (user, CSRF token, navigation for the user's role, branding, theme,
locale) from ``Render``; a page route passes only its own data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from litemaas.auth.permissions import Permission, Role
from litemaas.auth.principal import Principal
from litemaas.web.assets import AssetManifest
from litemaas.web.i18n import DEFAULT_LOCALE, negotiate
from litemaas.web.layout import Branding, NavItem, visible_navigation

_PATH_MAX = 2048
# Control characters never belong in a redirect target.
_FIRST_PRINTABLE = 0x20
_DELETE = 0x7F

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
THEME_COOKIE = "litemaas_theme"
THEMES = ("light", "dark")
# Distinct messages kept rendered per locale (the catalogs hold a few hundred; data passed to
# _() by mistake cannot grow the cache past this).
_GETTEXT_CACHE_MAX = 4096
# A name, not a sentence: shown when the admin console has not set one.
PRODUCT_NAME = "LiteMaaS"

# Scripts and styles only from our own origin (hashed files): no inline script, no eval.
# Inline style *attributes* stay allowed (PatternFly sets widths of progress bars and the like
# through them); <style> elements do not.
_CSP_DIRECTIVES = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
]
CONTENT_SECURITY_POLICY = "; ".join(_CSP_DIRECTIVES)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    # Pages carry per-user data and a CSRF token: no cache may keep them.
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """The page needs a logged-in user and the request has none."""


class PageForbidden(Exception):
    """The logged-in user lacks the page's permission."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(permission.value)
        self.permission = permission


@dataclass(frozen=True, slots=True)
class PageSession:
    """The logged-in user as pages see them: who they are and the CSRF token their forms carry."""

    principal: Principal
    csrf_token: str

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id

    @property
    def username(self) -> str:
        return self.principal.username

    @property
    def role(self) -> Role:
        return self.principal.role

    def can(self, permission: Permission | str) -> bool:
        return self.principal.can(Permission(permission))


def same_origin_path(value: str | None) -> str:
    """``value`` when it is a path on this site, else ``/`` (never an open redirect)."""
    if (
        not value
        or len(value) > _PATH_MAX
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < _FIRST_PRINTABLE or ord(ch) == _DELETE for ch in value)
    ):
        return "/"
    return value


def apply_page_headers(response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def login_url(next_path: str | None) -> str:
    target = same_origin_path(next_path)
    return "/login" if target == "/" else "/login?" + urlencode({"next": target})


class Portal:
    """Templates (one Jinja2 environment per locale), assets and the navigation of every page module."""

    def __init__(
        self,
        *,
        manifest: AssetManifest,
        catalogs: dict[str, Any],
        navigation: list[NavItem],
        templates_dir: Path = TEMPLATES_DIR,
    ) -> None:
        self.manifest = manifest
        self.navigation = navigation
        self.locales = sorted(catalogs)
        self._environments = {
            lang: self._environment(templates_dir, translations) for lang, translations in catalogs.items()
        }

    def _environment(self, templates_dir: Path, translations: Any) -> Environment:
        env = Environment(
            loader=FileSystemLoader(templates_dir),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        env.globals["gettext"] = env.globals["_"] = _cached_gettext(translations)
        env.globals["asset"] = self.manifest.url
        env.globals["themes"] = THEMES
        return env

    def environment(self, locale: str) -> Environment:
        return self._environments.get(locale) or self._environments[DEFAULT_LOCALE]


def _cached_gettext(translations: Any) -> Any:
    """Jinja's new-style ``gettext`` with the variable-free messages rendered once per locale.

    Same result as ``jinja2.ext``'s: the translation is trusted markup and ``%`` formats it
    (escaping the variables); a page with fifty cards asks for the same few labels hundreds of
    times, and the ``Markup % {}`` step was a fifth of the catalog page's server time.
    """
    rendered: dict[str, Markup] = {}

    @pass_context
    def gettext(context: Context, message: str, /, **variables: Any) -> str:
        if not context.eval_ctx.autoescape:
            return str(translations.gettext(message)) % variables
        if variables:
            return Markup(translations.gettext(message)) % variables  # noqa: S704  our catalogs' text, as jinja2.ext trusts it
        hit = rendered.get(message)
        if hit is None:
            hit = Markup(translations.gettext(message)) % {}  # noqa: S704  our catalogs' text, as jinja2.ext trusts it
            if len(rendered) < _GETTEXT_CACHE_MAX:
                rendered[message] = hit
        return hit

    return gettext


class PageRenderer:
    """Renders templates for one request: ``render("area/page.html", user, **context)``."""

    def __init__(self, portal: Portal, request: Request, branding: Branding) -> None:
        self.portal = portal
        self.request = request
        self.branding = branding
        self.locale = negotiate(request.headers.get("accept-language"), portal.locales)
        theme = request.cookies.get(THEME_COOKIE, "")
        self.theme = theme if theme in THEMES else "system"

    def __call__(
        self,
        template: str,
        user: PageSession | None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        env = self.portal.environment(self.locale)
        permissions = user.principal.permissions if user is not None else frozenset()
        html = env.get_template(template).render(
            request=self.request,
            user=user,
            csrf_token=user.csrf_token if user is not None else "",
            navigation=visible_navigation(self.portal.navigation, permissions),
            current_path=self.request.url.path,
            branding=self.branding,
            product_name=self.branding.product_name or PRODUCT_NAME,
            theme=self.theme,
            locale=self.locale,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=headers)
