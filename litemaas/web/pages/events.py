"""Workshop events: the admin's events (create, edit, hosts, join code and QR, end, seats), the join page,
the attendee's event page (key shown once, examples, playground) and the host's view of one event.

Every page calls the events service the API uses. Hosts reach their events from "Events" in the
navigation; the host view checks the host relationship per event (anyone else: 404 page).
"""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.events import service
from litemaas.events.errors import JoinCodeInvalid, JoinRefused
from litemaas.events.schemas import EventIn, EventLimits, EventOut, EventUpdateIn, SeatsIn
from litemaas.litellm_admin.dependencies import LiteLLMAdmin
from litemaas.models_catalog import service as catalog
from litemaas.settings_admin import service as settings_admin
from litemaas.usage.dependencies import Runtime
from litemaas.users import service as users
from litemaas.web import examples
from litemaas.web.dependencies import PageUser, PortalSettings, Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageRenderer, PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (
    NavItem("/events", N_("Events"), Permission.AUTHENTICATED, order=45),
    NavItem("/admin/events", N_("Events"), Permission.ADMIN_READ, order=74, group=N_("Administration")),
)

Reader = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
Writer = Annotated[PageSession, page_user(Permission.EVENTS_WRITE)]

DONE = ("created", "saved", "hosts", "rotated", "revoked", "ended", "seat_revoked", "limits")
_LIMITS = ("rpm_limit", "tpm_limit", "max_budget")


def _text(form: FormData, name: str) -> str:
    raw = form.get(name)
    return raw.strip() if isinstance(raw, str) else ""


def _when(form: FormData, name: str) -> datetime | None:
    text = _text(form, name)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: not a date and time", field=name) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _when_changed(form: FormData, name: str, current: datetime) -> datetime | None:
    """The form's time, or None (unchanged) when it is the current one as the form shows it (to the
    minute): saving a rename must not move an event's end by its seconds, nor touch its keys."""
    if _text(form, name) == _local(current):
        return None
    return _when(form, name)


def _local(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""


def _validated(model: type[Any], document: dict[str, Any]) -> Any:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        location = exc.errors()[0].get("loc") or ("form",)
        raise LiteMaaSError(
            f"{location[0]}: {exc.errors()[0].get('msg', 'invalid')}",
            status=422,
            code="validation_error",
            field=str(location[0]),
        ) from None


def _limits_document(form: FormData) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name in _LIMITS:
        text = _text(form, name)
        document[name] = text or None
    return document


def _form_values(event: EventOut | None) -> dict[str, Any]:
    if event is None:
        return {
            "name": "",
            "description": "",
            "models": [],
            "starts_at": "",
            "ends_at": "",
            "capacity": "30",
            "rpm_limit": "",
            "tpm_limit": "",
            "max_budget": "",
            "hosts": "",
        }
    return {
        "name": event.name,
        "description": event.description,
        "models": event.models,
        "starts_at": _local(event.starts_at),
        "ends_at": _local(event.ends_at),
        "capacity": str(event.capacity),
        "rpm_limit": "" if event.rpm_limit is None else str(event.rpm_limit),
        "tpm_limit": "" if event.tpm_limit is None else str(event.tpm_limit),
        "max_budget": "" if event.max_budget is None else str(event.max_budget),
        "hosts": ", ".join(event.hosts),
    }


def _submitted(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: _text(form, name)
        for name in ("name", "description", "starts_at", "ends_at", "capacity", "hosts", *_LIMITS)
    }
    values["models"] = [m for m in form.getlist("models") if isinstance(m, str)]
    return values


async def _models(session: Session) -> list[str]:
    return sorted(m.name for m in await catalog.list_models(session) if m.is_live)


def _error(exc: LiteMaaSError) -> dict[str, Any]:
    return {"status": exc.status, "code": exc.code, "field": exc.field, "detail": exc.message}


# --------------------------------------------------------------------------- admin: list and create


async def _list_page(
    render: PageRenderer,
    user: PageSession,
    session: Session,
    *,
    form: dict[str, Any],
    error: dict[str, Any] | None,
    done: str | None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        "events/admin_events.html",
        user,
        status=status,
        events=await service.list_events(session),
        models=await _models(session),
        form=form,
        error=error,
        done=done if done in DONE else None,
        read_only=Permission.EVENTS_WRITE not in user.principal.permissions,
    )


@router.get("/admin/events")
async def admin_events(user: Reader, render: Render, session: Session, done: str | None = None) -> HTMLResponse:
    return await _list_page(render, user, session, form=_form_values(None), error=None, done=(done or "")[:16])


@router.post("/admin/events")
async def create_event(request: Request, user: Writer, render: Render, session: Session) -> Response:
    form = await request.form()
    submitted = _submitted(form)
    try:
        body = _validated(
            EventIn,
            {
                "name": submitted["name"],
                "description": submitted["description"],
                "models": submitted["models"],
                "starts_at": _when(form, "starts_at"),
                "ends_at": _when(form, "ends_at"),
                "capacity": submitted["capacity"] or None,
                "hosts": [h.strip() for h in submitted["hosts"].split(",") if h.strip()],
                **_limits_document(form),
            },
        )
        created = await service.create_event(session, actor=user.principal, body=body)
    except LiteMaaSError as exc:
        await session.rollback()
        raise AnsweredWith(
            await _list_page(render, user, session, form=submitted, error=_error(exc), done=None, status=exc.status)
        ) from None
    return RedirectResponse(f"/admin/events/{created.id}?done=created", 303)


# --------------------------------------------------------------------------- admin: one event


async def _event_page(
    render: PageRenderer,
    user: PageSession,
    session: Session,
    settings: PortalSettings,
    event_id: uuid.UUID,
    *,
    form: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    done: str | None = None,
    new_seats: list[Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    event = await service.get_event(session, event_id)
    link = service.join_url(settings.public_url, event.join_code) if event.join_code else None
    return render(
        "events/admin_event.html",
        user,
        status=status,
        event=event,
        form=form or _form_values(event),
        error=error,
        done=done if done in DONE else None,
        join_link=link,
        # segno writes the SVG itself from the link alone: no user text reaches it unescaped.
        qr=Markup(service.qr_svg(link)) if link else None,  # noqa: S704
        seats=await service.list_seats(session, event_id),
        new_seats=new_seats or [],
        read_only=Permission.EVENTS_WRITE not in user.principal.permissions,
    )


@router.get("/admin/events/{event_id}")
async def admin_event(
    event_id: uuid.UUID,
    user: Reader,
    render: Render,
    session: Session,
    settings: PortalSettings,
    done: str | None = None,
) -> HTMLResponse:
    return await _event_page(render, user, session, settings, event_id, done=(done or "")[:16])


@router.post("/admin/events/{event_id}")
async def update_event(
    event_id: uuid.UUID,
    request: Request,
    user: Writer,
    render: Render,
    session: Session,
    settings: PortalSettings,
    litellm: LiteLLMAdmin,
) -> Response:
    current = await service.get_event(session, event_id)
    form = await request.form()
    submitted = _submitted(form)
    try:
        body = _validated(
            EventUpdateIn,
            {
                "name": submitted["name"] or None,
                "description": submitted["description"],
                "starts_at": _when_changed(form, "starts_at", current.starts_at),
                "ends_at": _when_changed(form, "ends_at", current.ends_at),
                "capacity": submitted["capacity"] or None,
                **_limits_document(form),
            },
        )
        await service.update_event(session, litellm, actor=user.principal, event_id=event_id, body=body)
    except LiteMaaSError as exc:
        await session.rollback()
        raise AnsweredWith(
            await _event_page(
                render, user, session, settings, event_id, form=submitted, error=_error(exc), status=exc.status
            )
        ) from None
    return RedirectResponse(f"/admin/events/{event_id}?done=saved", 303)


@router.post("/admin/events/{event_id}/hosts")
async def set_hosts(
    event_id: uuid.UUID, request: Request, user: Writer, render: Render, session: Session, settings: PortalSettings
) -> Response:
    form = await request.form()
    names = [h.strip() for h in _text(form, "hosts").split(",") if h.strip()]
    try:
        await service.set_hosts(session, actor=user.principal, event_id=event_id, usernames=names)
    except LiteMaaSError as exc:
        await session.rollback()
        raise AnsweredWith(
            await _event_page(render, user, session, settings, event_id, error=_error(exc), status=exc.status)
        ) from None
    return RedirectResponse(f"/admin/events/{event_id}?done=hosts", 303)


@router.post("/admin/events/{event_id}/code/rotate")
async def rotate_code(event_id: uuid.UUID, user: Writer, session: Session) -> Response:
    await service.rotate_code(session, actor=user.principal, event_id=event_id)
    return RedirectResponse(f"/admin/events/{event_id}?done=rotated", 303)


@router.post("/admin/events/{event_id}/code/revoke")
async def revoke_code(event_id: uuid.UUID, user: Writer, session: Session) -> Response:
    await service.revoke_code(session, actor=user.principal, event_id=event_id)
    return RedirectResponse(f"/admin/events/{event_id}?done=revoked", 303)


@router.post("/admin/events/{event_id}/end")
async def end_event(event_id: uuid.UUID, user: Writer, session: Session, litellm: LiteLLMAdmin) -> Response:
    await service.end_event(session, litellm, actor=user.principal, event_id=event_id, reason="ended early")
    return RedirectResponse(f"/admin/events/{event_id}?done=ended", 303)


@router.post("/admin/events/{event_id}/seats")
async def add_seats(
    event_id: uuid.UUID,
    request: Request,
    user: Writer,
    render: Render,
    session: Session,
    settings: PortalSettings,
    litellm: LiteLLMAdmin,
) -> Response:
    """Seats for lab users: the page answers with their keys, shown this once."""
    form = await request.form()
    try:
        body = _validated(SeatsIn, {"count": _text(form, "count") or None})
        seats = await service.add_seats(session, litellm, actor=user.principal, event_id=event_id, body=body)
    except LiteMaaSError as exc:
        await session.rollback()
        raise AnsweredWith(
            await _event_page(render, user, session, settings, event_id, error=_error(exc), status=exc.status)
        ) from None
    return await _event_page(render, user, session, settings, event_id, new_seats=seats)


# --------------------------------------------------------------------------- attendees


@router.get("/events")
async def my_events(user: PageUser, render: Render, session: Session) -> HTMLResponse:
    return render(
        "events/my_events.html",
        user,
        hosting=await service.hosted_events(session, user.principal.user_id),
        joined=await service.joined_events(session, user.principal.user_id),
    )


def _refusal(render: PageRenderer, user: PageSession, reason: str, event: EventOut | None, status: int) -> HTMLResponse:
    return render("events/join_refused.html", user, status=status, reason=reason, event=event)


@router.get("/events/join/{code}")
async def join_page(code: str, user: PageUser, render: Render, session: Session) -> Response:
    """The event and a Join button; an attendee already seated goes to the event page."""
    try:
        event = await service.event_for_code(session, code[:64])
    except JoinCodeInvalid:
        return _refusal(render, user, "join_code_invalid", None, 404)
    seat = await service.seat_for(session, event.id, user.principal.user_id)
    if seat is not None and seat.status == "active":
        return RedirectResponse(f"/events/{event.id}", 303)
    reason = None
    if seat is not None:
        reason = "seat_revoked" if seat.status == "revoked" else "event_ended"
    elif event.status != "open":
        reason = "event_ended" if event.status == "ended" else "event_not_started"
    elif event.seats_taken >= event.capacity:
        reason = "event_full"
    if reason is not None:
        return _refusal(render, user, reason, event, 409)
    return render("events/join.html", user, event=event, code=code)


async def _attendee_page(
    render: PageRenderer,
    user: PageSession,
    session: Session,
    settings: PortalSettings,
    event: EventOut,
    secret: str | None,
) -> HTMLResponse:
    seat = await service.seat_for(session, event.id, user.principal.user_id)
    if seat is None:
        return _refusal(render, user, "not_seated", event, 404)
    portal = await settings_admin.portal_values(session, settings)
    sets = []
    for name in event.models:
        model = await catalog.get_model(session, name)
        sets += examples.for_model(
            name,
            [c for c in model.capabilities],
            proxy_url=portal.public_proxy_url,
            document_url=settings.example_document_url,
        )
    return render(
        "events/event.html",
        user,
        event=event,
        seat=seat,
        secret=secret,
        example_sets=sets,
        proxy_url=portal.public_proxy_url.rstrip("/"),
        key_placeholder=examples.KEY_PLACEHOLDER,
        is_host=await service.can_manage(session, user.principal, event.id),
    )


@router.post("/events/join/{code}")
async def join(
    code: str, user: PageUser, render: Render, session: Session, settings: PortalSettings, litellm: LiteLLMAdmin
) -> Response:
    owner = await users.get_user(session, user.principal.user_id)
    try:
        result = await service.join(session, litellm, actor=user.principal, user=owner, code=code[:64])
    except JoinCodeInvalid:
        return _refusal(render, user, "join_code_invalid", None, 404)
    except JoinRefused as exc:
        await session.rollback()
        event = None
        with contextlib.suppress(JoinCodeInvalid):
            event = await service.event_for_code(session, code[:64])
        return _refusal(render, user, exc.code, event, 409)
    if result.seat.key is None:
        return RedirectResponse(f"/events/{result.event.id}", 303)
    return await _attendee_page(render, user, session, settings, result.event, result.seat.key)


@router.get("/events/{event_id}")
async def event_page(
    event_id: uuid.UUID, user: PageUser, render: Render, session: Session, settings: PortalSettings
) -> HTMLResponse:
    event = await service.get_event(session, event_id)
    return await _attendee_page(render, user, session, settings, event, None)


# --------------------------------------------------------------------------- host


@router.get("/events/{event_id}/host")
async def host_page(
    event_id: uuid.UUID, user: PageUser, render: Render, session: Session, runtime: Runtime, done: str | None = None
) -> HTMLResponse:
    event = await service.managed_event(session, user.principal, event_id)
    view = await service.host_view(session, runtime, event)
    return render(
        "events/host.html",
        user,
        view=view,
        can_change=await service.can_manage(session, user.principal, event_id),
        done=done if done in DONE else None,
    )


@router.get("/events/{event_id}/host/export.csv")
async def host_export(event_id: uuid.UUID, user: PageUser, session: Session, runtime: Runtime) -> Response:
    event = await service.managed_event(session, user.principal, event_id)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(service.csv_rows(await service.host_view(session, runtime, event)))
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="event-{event.id}.csv"'},
    )


@router.post("/events/{event_id}/seats/{seat_id}/revoke")
async def host_revoke_seat(
    event_id: uuid.UUID, seat_id: uuid.UUID, user: PageUser, session: Session, litellm: LiteLLMAdmin
) -> Response:
    event = await service.managed_event(session, user.principal, event_id, write=True)
    await service.revoke_seat(session, litellm, actor=user.principal, event=event, seat_id=seat_id)
    return RedirectResponse(f"/events/{event_id}/host?done=seat_revoked", 303)


@router.post("/events/{event_id}/seats/{seat_id}/limits")
async def host_seat_limits(
    event_id: uuid.UUID,
    seat_id: uuid.UUID,
    request: Request,
    user: PageUser,
    session: Session,
    litellm: LiteLLMAdmin,
) -> Response:
    event = await service.managed_event(session, user.principal, event_id, write=True)
    form = await request.form()
    document = {k: v for k, v in _limits_document(form).items() if v is not None}
    body = _validated(EventLimits, document)
    await service.set_seat_limits(session, litellm, actor=user.principal, event=event, seat_id=seat_id, body=body)
    return RedirectResponse(f"/events/{event_id}/host?done=limits", 303)
