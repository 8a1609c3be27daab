"""Admin console: banners — create, edit, reorder and delete the messages shown across the portal.

The forms go through the banners service the API uses (``/api/v1/admin/banners``); a bad value
comes back at its field. A read-only admin sees every control disabled, and the write routes
refuse them (``BRANDING_WRITE``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from litemaas.auth.permissions import Permission, Role
from litemaas.banners import service
from litemaas.banners.dependencies import PortalBannerCache
from litemaas.banners.schemas import FORMATS, SEVERITIES, BannerIn, BannerOut
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageRenderer, PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/admin/banners", N_("Banners"), Permission.ADMIN_READ, order=76, group=N_("Administration")),)

Reader = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
Writer = Annotated[PageSession, page_user(Permission.BRANDING_WRITE)]

DONE = ("created", "saved", "deleted", "moved")
ROLES = tuple(role.value for role in Role)
_TEXT_FIELDS = ("message", "message_format", "severity", "link_url", "link_text")


def _common(user: PageSession) -> dict[str, Any]:
    return {
        "read_only": Permission.BRANDING_WRITE not in user.principal.permissions,
        "severities": SEVERITIES,
        "formats": FORMATS,
        "roles": ROLES,
    }


def _form_values(banner: BannerOut | None) -> dict[str, Any]:
    """What the form shows: a banner's fields (times as ``datetime-local`` values in UTC), or a new one's."""
    if banner is None:
        return {
            "message": "",
            "message_format": "text",
            "severity": "info",
            "link_url": "",
            "link_text": "",
            "starts_at": "",
            "ends_at": "",
            "target_roles": list(ROLES),
            "dismissible": True,
            "enabled": True,
        }

    def local(value: datetime | None) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""

    return {
        **{name: getattr(banner, name) or "" for name in _TEXT_FIELDS},
        "starts_at": local(banner.starts_at),
        "ends_at": local(banner.ends_at),
        "target_roles": banner.target_roles,
        "dismissible": banner.dismissible,
        "enabled": banner.enabled,
    }


@router.get("/admin/banners")
async def banners_page(
    user: Reader,
    render: Render,
    session: Session,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    return render(
        "admin_banners/banners.html",
        user,
        banners=await service.list_banners(session),
        form=_form_values(None),
        error=None,
        done=done if done in DONE else None,
        **_common(user),
    )


@router.get("/admin/banners/{banner_id}")
async def banner_page(banner_id: uuid.UUID, user: Reader, render: Render, session: Session) -> HTMLResponse:
    banner = await service.get_banner(session, banner_id)
    return render(
        "admin_banners/banner.html", user, banner=banner, form=_form_values(banner), error=None, **_common(user)
    )


def _when(form: FormData, name: str) -> datetime | None:
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: not a date and time", field=name) from None
    # The form's times are UTC (the label says so).
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _submitted(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        raw = form.get(name)
        values[name] = raw if isinstance(raw, str) else ""
    for name in ("starts_at", "ends_at"):
        raw = form.get(name)
        values[name] = raw if isinstance(raw, str) else ""
    values["target_roles"] = [role for role in form.getlist("target_roles") if isinstance(role, str)]
    values["dismissible"] = form.get("dismissible") == "on"
    values["enabled"] = form.get("enabled") == "on"
    return values


def _body(form: FormData, submitted: dict[str, Any]) -> BannerIn:
    document = {
        **{name: submitted[name] or None for name in _TEXT_FIELDS},
        "starts_at": _when(form, "starts_at"),
        "ends_at": _when(form, "ends_at"),
        "target_roles": submitted["target_roles"],
        "dismissible": submitted["dismissible"],
        "enabled": submitted["enabled"],
    }
    document["message"] = document["message"] or ""
    document["message_format"] = document["message_format"] or "text"
    document["severity"] = document["severity"] or "info"
    try:
        return BannerIn.model_validate(document)
    except ValidationError as exc:
        location = exc.errors()[0].get("loc") or ("form",)
        raise BadRequest("invalid banner", field=str(location[0])) from None


async def _fail(
    render: PageRenderer,
    user: PageSession,
    session: Session,
    exc: LiteMaaSError,
    submitted: dict[str, Any],
    banner_id: uuid.UUID | None,
) -> AnsweredWith:
    await session.rollback()
    error = {"status": exc.status, "code": exc.code, "field": exc.field}
    if banner_id is None:
        page = render(
            "admin_banners/banners.html",
            user,
            status=exc.status,
            banners=await service.list_banners(session),
            form=submitted,
            error=error,
            done=None,
            **_common(user),
        )
    else:
        banner = await service.get_banner(session, banner_id)
        page = render(
            "admin_banners/banner.html",
            user,
            status=exc.status,
            banner=banner,
            form=submitted,
            error=error,
            **_common(user),
        )
    return AnsweredWith(page)


@router.post("/admin/banners")
async def create_banner(
    request: Request, user: Writer, render: Render, session: Session, cache: PortalBannerCache
) -> Response:
    form = await request.form()
    submitted = _submitted(form)
    try:
        await service.create_banner(session, actor=user.principal, body=_body(form, submitted), cache=cache)
    except LiteMaaSError as exc:
        raise await _fail(render, user, session, exc, submitted, None) from None
    return RedirectResponse("/admin/banners?done=created", 303)


@router.post("/admin/banners/{banner_id}")
async def update_banner(
    banner_id: uuid.UUID, request: Request, user: Writer, render: Render, session: Session, cache: PortalBannerCache
) -> Response:
    await service.get_banner(session, banner_id)  # an unknown banner is the 404 page, not a form error
    form = await request.form()
    submitted = _submitted(form)
    try:
        body = _body(form, submitted)
        await service.update_banner(session, actor=user.principal, banner_id=banner_id, body=body, cache=cache)
    except LiteMaaSError as exc:
        raise await _fail(render, user, session, exc, submitted, banner_id) from None
    return RedirectResponse("/admin/banners?done=saved", 303)


@router.post("/admin/banners/{banner_id}/delete")
async def delete_banner(banner_id: uuid.UUID, user: Writer, session: Session, cache: PortalBannerCache) -> Response:
    await service.delete_banner(session, actor=user.principal, banner_id=banner_id, cache=cache)
    return RedirectResponse("/admin/banners?done=deleted", 303)


@router.post("/admin/banners/{banner_id}/move")
async def move_banner(
    banner_id: uuid.UUID, request: Request, user: Writer, session: Session, cache: PortalBannerCache
) -> Response:
    """One place up or down (``direction`` = ``up`` | ``down``)."""
    direction = (await request.form()).get("direction")
    order = [banner.id for banner in await service.list_banners(session)]
    if banner_id not in order:
        await service.get_banner(session, banner_id)  # the 404 page
    index = order.index(banner_id)
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down"):
        raise BadRequest("direction must be up or down", field="direction")
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
        await service.reorder(session, actor=user.principal, ids=order, cache=cache)
    return RedirectResponse("/admin/banners?done=moved", 303)
