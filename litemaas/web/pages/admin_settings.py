"""Admin console: settings — API key defaults and maximums, playground limits, public proxy URL, currency.

Both forms go through the settings service the API uses (``/api/v1/admin/settings/api-keys`` and
``/portal``); a bad value comes back at its field. A read-only admin sees the forms disabled,
and the write routes refuse them (``SETTINGS_WRITE``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.settings_admin import service
from litemaas.settings_admin.schemas import ApiKeySettings, KeyLimitDefaults, KeyLimitMaximums, PortalSettingsIn
from litemaas.web.dependencies import PortalSettings, Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageRenderer, PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/admin/settings", N_("Settings"), Permission.ADMIN_READ, order=70, group=N_("Administration")),)

Reader = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
Writer = Annotated[PageSession, page_user(Permission.SETTINGS_WRITE)]

PORTAL_FIELDS = tuple(PortalSettingsIn.model_fields)
DEFAULT_FIELDS = tuple(KeyLimitDefaults.model_fields)
MAXIMUM_FIELDS = tuple(KeyLimitMaximums.model_fields)


async def _context(session: Session, settings: Any, user: PageSession) -> dict[str, Any]:
    return {
        "portal": await service.get_portal_settings(session, settings),
        "keys": await service.get_api_key_settings(session),
        "read_only": Permission.SETTINGS_WRITE not in user.principal.permissions,
        "default_fields": DEFAULT_FIELDS,
        "maximum_fields": MAXIMUM_FIELDS,
    }


@router.get("/admin/settings")
async def settings_page(
    user: Reader,
    render: Render,
    session: Session,
    settings: PortalSettings,
    saved: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    context = await _context(session, settings, user)
    return render("admin_settings/settings.html", user, saved=saved, error=None, submitted=None, **context)


def _blank_to_none(form: FormData, names: tuple[str, ...], prefix: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        raw = form.get(prefix + name)
        text = raw.strip() if isinstance(raw, str) else ""
        values[name] = text or None
    return values


def _validation_field(exc: ValidationError, prefix: str = "") -> str:
    location = exc.errors()[0].get("loc") or ("form",)
    return prefix + ".".join(str(part) for part in location)


async def _fail(
    render: PageRenderer,
    user: PageSession,
    session: Session,
    settings: Any,
    exc: LiteMaaSError,
    submitted: dict[str, Any],
) -> AnsweredWith:
    await session.rollback()
    context = await _context(session, settings, user)
    error = {"status": exc.status, "code": exc.code, "field": exc.field}
    return AnsweredWith(
        render(
            "admin_settings/settings.html",
            user,
            status=exc.status,
            saved=None,
            error=error,
            submitted=submitted,
            **context,
        )
    )


@router.post("/admin/settings/portal")
async def save_portal(
    request: Request, user: Writer, render: Render, session: Session, settings: PortalSettings
) -> Response:
    submitted = _blank_to_none(await request.form(), PORTAL_FIELDS)
    try:
        try:
            overrides = PortalSettingsIn.model_validate(submitted)
        except ValidationError as exc:
            raise BadRequest("invalid setting", field=_validation_field(exc)) from None
        await service.update_portal_settings(session, settings, actor=user.principal, overrides=overrides)
    except LiteMaaSError as exc:
        raise await _fail(render, user, session, settings, exc, {"portal": submitted}) from None
    return RedirectResponse("/admin/settings?saved=portal", 303)


@router.post("/admin/settings/api-keys")
async def save_api_keys(
    request: Request, user: Writer, render: Render, session: Session, settings: PortalSettings
) -> Response:
    form = await request.form()
    defaults = _blank_to_none(form, DEFAULT_FIELDS, "defaults.")
    maximums = _blank_to_none(form, MAXIMUM_FIELDS, "maximums.")
    cap = form.get("max_active_keys_per_user")
    document: dict[str, Any] = {
        "defaults": {k: v for k, v in defaults.items() if v is not None},
        "maximums": {k: v for k, v in maximums.items() if v is not None},
    }
    if isinstance(cap, str) and cap.strip():
        document["max_active_keys_per_user"] = cap.strip()
    submitted = {"defaults": defaults, "maximums": maximums, "max_active_keys_per_user": cap}
    try:
        try:
            body = ApiKeySettings.model_validate(document)
        except ValidationError as exc:
            raise BadRequest("invalid setting", field=_validation_field(exc)) from None
        await service.update_api_key_settings(session, actor=user.principal, settings=body)
    except LiteMaaSError as exc:
        raise await _fail(render, user, session, settings, exc, {"api_keys": submitted}) from None
    return RedirectResponse("/admin/settings?saved=keys", 303)
