"""Portal pages: the login page (providers + development login form) and the landing page."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from litemaas.auth.dependencies import IdentityProviders, OptionalPrincipal, require
from litemaas.auth.permissions import Permission, Role
from litemaas.dependencies import AppSettings

router = APIRouter(include_in_schema=False)

_ERRORS = {
    "invalid_state": "The login attempt expired or was not started in this browser. Please try again.",
    "login_failed": "The identity provider's answer could not be verified.",
    "idp_refused": "The identity provider refused the login.",
    "account_deactivated": "This account is deactivated.",
    "username_taken": "This username belongs to another identity.",
    "invalid_username": "Usernames are letters, digits and . _ @ - (up to 64).",
}

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#151515}
h1{font-weight:600}a.button,button{display:inline-block;padding:.5rem 1rem;border-radius:4px;border:0;
background:#0066cc;color:#fff;text-decoration:none;cursor:pointer;font-size:1rem;margin:.25rem 0}
.error{background:#fae0e0;padding:.75rem;border-radius:4px}.dev{border:1px dashed #c58c00;padding:1rem;
border-radius:4px;margin-top:2rem}label{display:block;margin:.5rem 0}input,select{font-size:1rem;padding:.25rem}
"""


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


@router.get("/login", dependencies=[require(Permission.PUBLIC)])
async def login_page(
    settings: AppSettings, providers: IdentityProviders, error: str | None = None, next: str | None = None
) -> HTMLResponse:
    next_path = next if next and next.startswith("/") and not next.startswith("//") else "/"
    parts = ["<h1>LiteMaaS</h1><p>Sign in to use the models.</p>"]
    if error:
        parts.append(f"<p class=error>{escape(_ERRORS.get(error, 'Login failed.'))}</p>")
    for name, provider in providers.items():
        href = f"/auth/{escape(name)}/start?next={escape(next_path)}"
        parts.append(f"<p><a class=button href='{href}'>Log in with {escape(provider.label)}</a></p>")
    if settings.dev_login_enabled and settings.environment == "development":
        options = "".join(f"<option value='{r.value}'>{r.value}</option>" for r in Role)
        parts.append(
            "<form class=dev id=dev method=post action='/auth/dev'>"
            "<strong>Development login</strong> (enabled in development settings only)"
            "<label>Username <input name=username required pattern='[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}'></label>"
            f"<label>Role <select name=role>{options}</select></label>"
            f"<input type=hidden name=next value='{escape(next_path)}'>"
            "<button type=submit>Log in</button></form>"
        )
    if len(parts) == 1:
        parts.append("<p class=error>No login method is configured.</p>")
    return _page("Log in · LiteMaaS", "".join(parts))


@router.get("/", dependencies=[require(Permission.PUBLIC)])
async def landing(request: Request, settings: AppSettings, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    csrf = request.cookies.get(settings.csrf_cookie_name, "")
    admin = "" if principal.role is Role.USER else "<p><a href='/docs'>Admin API (OpenAPI)</a></p>"
    body = (
        f"<h1>Welcome, {escape(principal.username)}</h1>"
        f"<p>Role: <strong>{escape(principal.role.value)}</strong></p>{admin}"
        "<form method=post action='/auth/logout'>"
        f"<input type=hidden name=csrf_token value='{escape(csrf)}'><button type=submit>Log out</button></form>"
    )
    return _page("LiteMaaS", body)
