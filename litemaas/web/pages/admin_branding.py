"""Admin console: branding — title, subtitle, footer text and logos, with a live preview.

The forms go through the branding service the API uses (``/api/v1/admin/branding``); an image is
checked by content (and an SVG sanitised) there, and a refused upload comes back naming the problem.
A read-only admin sees every control disabled, and the write routes refuse them (``BRANDING_WRITE``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from litemaas.auth.permissions import Permission
from litemaas.branding import service
from litemaas.branding.dependencies import PortalBrandingCache
from litemaas.branding.errors import ImageRefused
from litemaas.branding.images import CONTENT_TYPES, MAX_IMAGE_BYTES
from litemaas.branding.schemas import BrandingTextIn, ImageSlot
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageRenderer, PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/admin/branding", N_("Branding"), Permission.ADMIN_READ, order=75, group=N_("Administration")),)

Reader = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
Writer = Annotated[PageSession, page_user(Permission.BRANDING_WRITE)]

TEXT_FIELDS = tuple(BrandingTextIn.model_fields)
# Multipart framing and the CSRF field around the file.
_FORM_OVERHEAD = 64 * 1024
SAVED = ("texts", *(slot.value for slot in ImageSlot), "removed")


async def _context(session: Session, user: PageSession) -> dict[str, Any]:
    return {
        "look": await service.get_branding(session),
        "read_only": Permission.BRANDING_WRITE not in user.principal.permissions,
        "slots": tuple(ImageSlot),
        "accept": ",".join(CONTENT_TYPES),
        "max_mb": MAX_IMAGE_BYTES // (1024 * 1024),
    }


@router.get("/admin/branding")
async def branding_page(
    user: Reader,
    render: Render,
    session: Session,
    saved: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    context = await _context(session, user)
    shown = saved if saved in SAVED else None
    return render("admin_branding/branding.html", user, saved=shown, error=None, submitted=None, **context)


async def _fail(
    render: PageRenderer, user: PageSession, session: Session, exc: LiteMaaSError, submitted: dict[str, Any]
) -> AnsweredWith:
    await session.rollback()
    context = await _context(session, user)
    error = {"status": exc.status, "code": exc.code, "field": exc.field, "detail": exc.message, **submitted}
    return AnsweredWith(
        render(
            "admin_branding/branding.html",
            user,
            status=exc.status,
            saved=None,
            error=error,
            submitted=submitted.get("texts"),
            **context,
        )
    )


@router.post("/admin/branding")
async def save_texts(
    request: Request, user: Writer, render: Render, session: Session, cache: PortalBrandingCache
) -> Response:
    form = await request.form()
    submitted = {name: value if isinstance(value := form.get(name), str) else None for name in TEXT_FIELDS}
    try:
        try:
            texts = BrandingTextIn.model_validate(submitted)
        except ValidationError as exc:
            location = exc.errors()[0].get("loc") or ("form",)
            raise BadRequest("invalid branding", field=".".join(str(p) for p in location)) from None
        await service.update_texts(session, actor=user.principal, texts=texts, cache=cache)
    except LiteMaaSError as exc:
        raise await _fail(render, user, session, exc, {"texts": submitted}) from None
    return RedirectResponse("/admin/branding?saved=texts", 303)


@router.post("/admin/branding/images/{slot}")
async def upload_image(
    slot: ImageSlot, request: Request, user: Writer, render: Render, session: Session, cache: PortalBrandingCache
) -> Response:
    try:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES + _FORM_OVERHEAD:
            # Refused before the body is read (the form's other fields are a few hundred bytes).
            raise ImageRefused(f"the upload is {declared} bytes: at most {MAX_IMAGE_BYTES} (2 MB)", "image_too_large")
        form = await request.form()
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ImageRefused("choose a file to upload", code="image_empty")
        data = await upload.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:
            raise ImageRefused(f"the image is over {MAX_IMAGE_BYTES} bytes (2 MB)", code="image_too_large")
        await service.put_image(
            session, actor=user.principal, slot=slot, data=data, declared_type=upload.content_type, cache=cache
        )
    except LiteMaaSError as exc:
        raise await _fail(render, user, session, exc, {"slot": slot.value}) from None
    return RedirectResponse(f"/admin/branding?saved={slot.value}", 303)


@router.post("/admin/branding/images/{slot}/delete")
async def remove_image(slot: ImageSlot, user: Writer, session: Session, cache: PortalBrandingCache) -> Response:
    await service.delete_image(session, actor=user.principal, slot=slot, cache=cache)
    return RedirectResponse("/admin/branding?saved=removed", 303)
