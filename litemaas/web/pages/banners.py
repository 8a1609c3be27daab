"""Dismissing a banner from any page (remembered for the account). Works as a plain form; with
htmx the banner is removed in place."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from litemaas.banners import service
from litemaas.db import Session
from litemaas.web.dependencies import PageUser
from litemaas.web.rendering import same_origin_path
from litemaas.web.routing import page_router

router = page_router()


@router.post("/banners/{banner_id}/dismiss")
async def dismiss_banner(
    banner_id: uuid.UUID,
    request: Request,
    user: PageUser,
    session: Session,
    next_path: Annotated[str, Form(alias="next", max_length=2048)] = "/",
) -> Response:
    await service.dismiss(session, user_id=user.user_id, banner_id=banner_id)
    if request.headers.get("HX-Request") == "true":
        # Swapped in place of the banner: it disappears without a reload.
        return Response(status_code=200, content="", media_type="text/html")
    return RedirectResponse(same_origin_path(next_path), 303)
