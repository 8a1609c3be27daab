"""Event routes: the admin's events and seats; joining; the host's view of one event."""

from __future__ import annotations

import csv
import io
import uuid

from fastapi import APIRouter, Response
from pydantic import BaseModel

from litemaas.db import Session
from litemaas.dependencies import AppSettings
from litemaas.events import service
from litemaas.events.dependencies import EventMember, EventReader, EventWriter
from litemaas.events.schemas import (
    AttendeeOut,
    EventIn,
    EventLimits,
    EventOut,
    EventUpdateIn,
    HostsIn,
    HostViewOut,
    JoinOut,
    SeatOut,
    SeatsIn,
    SeatsOut,
)
from litemaas.litellm_admin.dependencies import LiteLLMAdmin
from litemaas.usage.dependencies import Runtime
from litemaas.users import service as users

router = APIRouter(prefix="/events", tags=["events"])
admin_router = APIRouter(prefix="/admin/events", tags=["events"])


class MyEventsOut(BaseModel):
    hosting: list[EventOut]
    joined: list[JoinOut]


# --------------------------------------------------------------------------- admin


@admin_router.get("", response_model=list[EventOut])
async def list_events(session: Session, principal: EventReader) -> list[EventOut]:
    return await service.list_events(session)


@admin_router.post("", response_model=EventOut, status_code=201)
async def create_event(session: Session, body: EventIn, principal: EventWriter) -> EventOut:
    """A new event with its join code; restricted models are granted to attendees by the event itself."""
    return await service.create_event(session, actor=principal, body=body)


@admin_router.get("/{event_id}", response_model=EventOut)
async def get_event(event_id: uuid.UUID, session: Session, principal: EventReader) -> EventOut:
    return await service.get_event(session, event_id)


@admin_router.patch("/{event_id}", response_model=EventOut)
async def update_event(
    event_id: uuid.UUID, session: Session, body: EventUpdateIn, principal: EventWriter, litellm: LiteLLMAdmin
) -> EventOut:
    """Change fields; a new ``ends_at`` extends (or shortens) every seat's key at LiteLLM."""
    return await service.update_event(session, litellm, actor=principal, event_id=event_id, body=body)


@admin_router.put("/{event_id}/hosts", response_model=EventOut)
async def set_hosts(event_id: uuid.UUID, session: Session, body: HostsIn, principal: EventWriter) -> EventOut:
    return await service.set_hosts(session, actor=principal, event_id=event_id, usernames=body.usernames)


@admin_router.post("/{event_id}/code/rotate", response_model=EventOut)
async def rotate_code(event_id: uuid.UUID, session: Session, principal: EventWriter) -> EventOut:
    return await service.rotate_code(session, actor=principal, event_id=event_id)


@admin_router.post("/{event_id}/code/revoke", response_model=EventOut)
async def revoke_code(event_id: uuid.UUID, session: Session, principal: EventWriter) -> EventOut:
    return await service.revoke_code(session, actor=principal, event_id=event_id)


@admin_router.get("/{event_id}/qr")
async def join_qr(event_id: uuid.UUID, session: Session, settings: AppSettings, principal: EventReader) -> Response:
    """The join link as an SVG QR code (404 when the code is revoked)."""
    event = await service.get_event(session, event_id)
    if event.join_code is None:
        return Response(status_code=404)
    svg = service.qr_svg(service.join_url(settings.public_url, event.join_code))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@admin_router.post("/{event_id}/end", response_model=EventOut)
async def end_event(event_id: uuid.UUID, session: Session, principal: EventWriter, litellm: LiteLLMAdmin) -> EventOut:
    """End now: the keys stop working at LiteLLM and the event's grants end."""
    return await service.end_event(session, litellm, actor=principal, event_id=event_id, reason="ended early")


@admin_router.post("/{event_id}/seats", response_model=SeatsOut, status_code=201)
async def add_seats(
    event_id: uuid.UUID, session: Session, body: SeatsIn, principal: EventWriter, litellm: LiteLLMAdmin
) -> SeatsOut:
    """Seats (keys, shown once) for lab environments: ``count`` lab users or existing ``usernames``."""
    items = await service.add_seats(session, litellm, actor=principal, event_id=event_id, body=body)
    return SeatsOut(items=items)


@admin_router.get("/{event_id}/seats", response_model=list[SeatOut])
async def list_seats(event_id: uuid.UUID, session: Session, principal: EventReader) -> list[SeatOut]:
    await service.get_event(session, event_id)
    return await service.list_seats(session, event_id)


# --------------------------------------------------------------------------- attendees and hosts


@router.get("", response_model=MyEventsOut)
async def my_events(session: Session, principal: EventMember) -> MyEventsOut:
    """Events the caller hosts and events they joined."""
    joined = await service.joined_events(session, principal.user_id)
    return MyEventsOut(
        hosting=await service.hosted_events(session, principal.user_id),
        joined=[JoinOut(event=e, seat={**s.model_dump(), "created": False}) for e, s in joined],
    )


@router.post("/join/{code}", response_model=JoinOut)
async def join(code: str, session: Session, principal: EventMember, litellm: LiteLLMAdmin) -> JoinOut:
    """The caller's seat: its key is in the answer the first time only; joining again gives the same seat."""
    user = await users.get_user(session, principal.user_id)
    result = await service.join(session, litellm, actor=principal, user=user, code=code[:64])
    return JoinOut(event=result.event, seat=result.seat)


@router.get("/{event_id}/host", response_model=HostViewOut)
async def host_view(event_id: uuid.UUID, session: Session, principal: EventMember, runtime: Runtime) -> HostViewOut:
    """Attendees and their usage (hosts of this event, admins, read-only admins)."""
    event = await service.managed_event(session, principal, event_id)
    return await service.host_view(session, runtime, event)


@router.get("/{event_id}/host/export.csv")
async def export_attendees(event_id: uuid.UUID, session: Session, principal: EventMember, runtime: Runtime) -> Response:
    event = await service.managed_event(session, principal, event_id)
    view = await service.host_view(session, runtime, event)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(service.csv_rows(view))
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="event-{event.id}.csv"'},
    )


@router.post("/{event_id}/seats/{seat_id}/revoke", response_model=SeatOut)
async def revoke_seat(
    event_id: uuid.UUID, seat_id: uuid.UUID, session: Session, principal: EventMember, litellm: LiteLLMAdmin
) -> SeatOut:
    event = await service.managed_event(session, principal, event_id, write=True)
    return await service.revoke_seat(session, litellm, actor=principal, event=event, seat_id=seat_id)


@router.patch("/{event_id}/seats/{seat_id}/limits", response_model=AttendeeOut)
async def set_seat_limits(
    event_id: uuid.UUID,
    seat_id: uuid.UUID,
    session: Session,
    body: EventLimits,
    principal: EventMember,
    litellm: LiteLLMAdmin,
) -> AttendeeOut:
    """Change one attendee's key limits (only the fields sent)."""
    event = await service.managed_event(session, principal, event_id, write=True)
    return await service.set_seat_limits(session, litellm, actor=principal, event=event, seat_id=seat_id, body=body)
