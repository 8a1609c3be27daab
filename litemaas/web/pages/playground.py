"""The chat playground: ``GET /playground`` (the page) and ``POST /playground/chat`` (one streamed turn).

The turn is proxied by the backend: the page posts the conversation (CSRF header, JSON) and
reads the proxy's event stream back through this route as it arrives. No key reaches the
browser; the conversation lives only in the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.dependencies import HttpClient
from litemaas.errors import LiteMaaSError, UpstreamUnavailable
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin
from litemaas.playground import service as playground
from litemaas.playground.errors import ModelRefused, PlaygroundRateLimited
from litemaas.playground.inference import relay
from litemaas.playground.schemas import ChatIn
from litemaas.web.dependencies import PortalSettings, Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import page_router

router = page_router()

NAVIGATION = (NavItem("/playground", N_("Playground"), Permission.PLAYGROUND_USE, order=40),)

PlaygroundUser = Annotated[PageSession, page_user(Permission.PLAYGROUND_USE)]
# Stream answers straight through: no proxy buffering, no caching, no compression.
# Refusals by the proxy: the key work before the call is complete and stays.
ANSWERED = (ModelRefused, PlaygroundRateLimited)
_STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@router.get("/playground")
async def playground_page(
    user: PlaygroundUser, render: Render, session: Session, settings: PortalSettings
) -> HTMLResponse:
    models = await playground.chat_models(session, user.user_id)
    wanted, max_tokens = await playground.limits(session, settings)
    return render(
        "playground/playground.html",
        user,
        models=models,
        max_tokens_limit=max_tokens,
        rpm_limit=wanted.rpm_limit,
        tpm_limit=wanted.tpm_limit,
    )


def _error(exc: LiteMaaSError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


@router.post("/playground/chat")
async def playground_chat(
    request: Request,
    user: PlaygroundUser,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    http: HttpClient,
    settings: PortalSettings,
) -> Response:
    try:
        chat = ChatIn.model_validate_json(await request.body())
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        return JSONResponse({"error": "playground_invalid_request", "detail": detail}, 400)
    try:
        if litellm is None:
            raise UpstreamUnavailable("LiteLLM is not configured (LITEMAAS_MASTER_KEY is not set)")
        upstream = await playground.open_chat(
            session, litellm, http, settings, actor=user.principal, user_id=user.user_id, chat=chat
        )
    except LiteMaaSError as exc:
        if not isinstance(exc, ANSWERED):
            # Nothing half-done stays (a key row whose LiteLLM key could not be made).
            await session.rollback()
        # The page shows its own sentence for each code: JSON, not the HTML error page.
        return _error(exc)
    return StreamingResponse(relay(upstream), media_type="text/event-stream", headers=_STREAM_HEADERS)
