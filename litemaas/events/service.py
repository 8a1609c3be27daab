"""Event rules: create and change events, seat attendees, end events, and the host's view.

Seating: the event's row is locked (``SELECT ... FOR UPDATE``) for the whole seat creation, so
its ``seats_taken`` counter can be checked and raised without a race: capacity 50 gives exactly 50
seats and 50 LiteLLM keys however many attendees join at once. Then, as every key change does,
the attendee's key lock; their subscriptions to the event's models are made active (the event is
the approval, audited); the key goes through the api_keys machinery (LiteLLM first, after our
flushed row), with the event's limits and an expiry at the event's end. A LiteLLM failure rolls
all of it back (503) and removes what LiteLLM made.

Ending (early by an admin, or when the end has passed, by the cleanup job): the keys are deleted
at LiteLLM in one call, then marked revoked here; the subscriptions the event activated end,
unless another live seat granted them too (a user's own, earlier subscriptions are not the
event's to end).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.access import service as access
from litemaas.api_keys import service as keys
from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.events import errors, repository
from litemaas.events.schemas import (
    AttendeeOut,
    EventIn,
    EventLimits,
    EventOut,
    EventStatus,
    EventUpdateIn,
    HostViewOut,
    ModelUsageOut,
    SeatKeyOut,
    SeatOut,
    SeatsIn,
    UsageFigures,
)
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import KeyLimits, LiteLLMAdminClient
from litemaas.models.api_key import ApiKey
from litemaas.models.event import Event
from litemaas.models.event_seat import EventSeat
from litemaas.models.user import User
from litemaas.subscriptions import service as subscriptions
from litemaas.usage import service as usage
from litemaas.usage.service import UsageRuntime
from litemaas.usage.service import UsageSums as Sums
from litemaas.users import service as users

log = structlog.get_logger("litemaas.events")

META_EVENT_ID = "litemaas_event_id"
JOIN_PATH = "/events/join/"


def _new_code() -> str:
    # 128 bits: unguessable, and short enough for a link on a slide.
    return secrets.token_urlsafe(16)


def status_of(event: Event, now: datetime | None = None) -> EventStatus:
    now = now or utcnow()
    if event.status == "ended" or event.ends_at <= now:
        return "ended"
    return "scheduled" if event.starts_at > now else "open"


def _audit_view(event: Event, models: Sequence[str], hosts: Sequence[str] | None = None) -> dict[str, object]:
    view: dict[str, object] = {
        "name": event.name,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "capacity": event.capacity,
        "rpm_limit": event.rpm_limit,
        "tpm_limit": event.tpm_limit,
        "max_budget": event.max_budget,
        "status": event.status,
        "models": list(models),
    }
    if hosts is not None:
        view["hosts"] = list(hosts)
    return view


def _limits(source: Event | EventLimits) -> KeyLimits:
    return KeyLimits(tpm_limit=source.tpm_limit, rpm_limit=source.rpm_limit, max_budget=source.max_budget)


async def _outs(session: AsyncSession, events: Sequence[Event]) -> list[EventOut]:
    ids = [e.id for e in events]
    models = await repository.model_names(session, ids)
    hosts = await repository.host_names(session, ids)
    now = utcnow()
    return [
        EventOut(
            id=e.id,
            name=e.name,
            description=e.description,
            models=models[e.id],
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            capacity=e.capacity,
            seats_taken=e.seats_taken,
            status=status_of(e, now),
            join_code=e.join_code,
            join_path=JOIN_PATH + e.join_code if e.join_code else None,
            hosts=hosts[e.id],
            rpm_limit=e.rpm_limit,
            tpm_limit=e.tpm_limit,
            max_budget=e.max_budget,
            ended_at=e.ended_at,
            created_at=e.created_at,
        )
        for e in events
    ]


async def to_out(session: AsyncSession, event: Event) -> EventOut:
    return (await _outs(session, [event]))[0]


# --------------------------------------------------------------------------- who may see and manage


async def _get(session: AsyncSession, event_id: uuid.UUID) -> Event:
    event = await repository.get(session, event_id)
    if event is None:
        raise errors.EventNotFound(event_id)
    return event


async def can_manage(session: AsyncSession, principal: Principal, event_id: uuid.UUID) -> bool:
    """Admins, and the event's own hosts (for that event only)."""
    if principal.can(Permission.EVENTS_WRITE):
        return True
    return await repository.is_host(session, event_id, principal.user_id)


async def managed_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, *, write: bool = False
) -> Event:
    """The event, if the caller may see (read-only admins, hosts) or change (admins, hosts) its attendees.

    Anyone else, a host of another event included, is told it does not exist.
    """
    event = await repository.get(session, event_id)
    if event is None:
        raise errors.EventNotFound(event_id)
    if await can_manage(session, principal, event_id):
        return event
    if not write and principal.can(Permission.ADMIN_READ):
        return event
    raise errors.EventNotFound(event_id)


async def hosted_events(session: AsyncSession, user_id: uuid.UUID) -> list[EventOut]:
    ids = await repository.hosted_event_ids(session, user_id)
    return await _outs(session, await repository.list_events(session, event_ids=ids)) if ids else []


async def joined_events(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[EventOut, SeatOut]]:
    seats = await repository.seats_of_user(session, user_id)
    events = await repository.list_events(session, event_ids=[s.event_id for s in seats]) if seats else []
    outs = {e.id: for_attendee(e) for e in await _outs(session, events)}
    views = await _seat_outs(session, seats)
    return [(outs[s.event_id], v) for s, v in zip(seats, views, strict=True) if s.event_id in outs]


def for_attendee(event: EventOut) -> EventOut:
    """What an attendee sees of their event: not its join code (an admin may have rotated a leaked
    one) nor its hosts' usernames."""
    return event.model_copy(update={"join_code": None, "join_path": None, "hosts": []})


# --------------------------------------------------------------------------- admin: events


async def list_events(session: AsyncSession) -> list[EventOut]:
    return await _outs(session, await repository.list_events(session))


async def get_event(session: AsyncSession, event_id: uuid.UUID) -> EventOut:
    return await to_out(session, await _get(session, event_id))


async def _model_ids(session: AsyncSession, names: Sequence[str]) -> dict[str, uuid.UUID]:
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not wanted:
        raise errors.InvalidEvent("at least one model is required", field="models")
    live = await repository.live_models_by_name(session, wanted)
    unknown = [n for n in wanted if n not in live]
    if unknown:
        raise errors.InvalidEvent(f"unknown model(s) {', '.join(unknown)}", field="models")
    return live


async def _host_ids(session: AsyncSession, usernames: Sequence[str]) -> dict[str, uuid.UUID]:
    wanted = list(dict.fromkeys(n.strip() for n in usernames if n.strip()))
    found = await repository.users_by_username(session, wanted)
    unknown = [n for n in wanted if n not in found]
    if unknown:
        raise errors.InvalidEvent(
            f"unknown user(s) {', '.join(unknown)} (users exist once they have logged in)", field="hosts"
        )
    return {name: found[name].id for name in wanted}


async def create_event(session: AsyncSession, *, actor: Actor, body: EventIn) -> EventOut:
    model_ids = await _model_ids(session, body.models)
    host_ids = await _host_ids(session, body.hosts)
    event = Event(
        id=uuid.uuid4(),
        name=body.name.strip(),
        description=body.description,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        capacity=body.capacity,
        seats_taken=0,
        join_code=_new_code(),
        rpm_limit=body.rpm_limit,
        tpm_limit=body.tpm_limit,
        max_budget=body.max_budget,
        status="active",
        created_by_id=actor.user_id,
    )
    repository.add(session, event)
    await session.flush()
    await repository.set_models(session, event.id, model_ids.values())
    await repository.set_hosts(session, event.id, host_ids.values(), actor.user_id)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="event.create",
        target_type="event",
        target_id=event.id,
        after=_audit_view(event, sorted(model_ids), sorted(host_ids)),
    )
    log.info("event.create.done", event_id=str(event.id), models=len(model_ids), capacity=event.capacity)
    return await to_out(session, event)


async def update_event(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, event_id: uuid.UUID, body: EventUpdateIn
) -> EventOut:
    """Change the fields sent; limits apply to seats given from now on; a new end moves every key's expiry."""
    event = await repository.lock(session, event_id)
    if event is None:
        raise errors.EventNotFound(event_id)
    if event.status == "ended":
        raise errors.EventEnded()
    models = (await repository.model_names(session, [event.id]))[event.id]
    before = _audit_view(event, models)
    sent = body.model_fields_set
    starts = body.starts_at if "starts_at" in sent and body.starts_at is not None else event.starts_at
    ends = body.ends_at if "ends_at" in sent and body.ends_at is not None else event.ends_at
    if ends <= starts:
        raise errors.InvalidEvent("must be after starts_at", field="ends_at")
    if "capacity" in sent and body.capacity is not None and body.capacity < event.seats_taken:
        raise errors.InvalidEvent(f"{event.seats_taken} seats are already taken", field="capacity")
    for name in ("name", "description", "capacity"):
        value = getattr(body, name)
        if name in sent and value is not None:
            setattr(event, name, value.strip() if name == "name" else value)
    for name in ("rpm_limit", "tpm_limit", "max_budget"):
        if name in sent:
            setattr(event, name, getattr(body, name))
    moved = ends != event.ends_at
    event.starts_at, event.ends_at = starts, ends
    await session.flush()
    if moved:
        await _move_key_expiry(session, litellm, actor=actor, event=event)
    await audit.record(
        session,
        actor=actor,
        action="event.extend" if moved else "event.update",
        target_type="event",
        target_id=event.id,
        before=before,
        after=_audit_view(event, models),
    )
    return await to_out(session, event)


async def _move_key_expiry(session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, event: Event) -> None:
    seats = await repository.seats(session, event.id, status="active")
    await access.lock_users(session, [s.user_id for s in seats])
    for seat in seats:
        if seat.key_id is not None:
            await keys.set_fixed_key_terms(
                session, litellm, actor=actor, key_id=seat.key_id, expires_at=event.ends_at, reason="event end moved"
            )


async def set_hosts(session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, usernames: Sequence[str]) -> EventOut:
    event = await _get(session, event_id)
    before = (await repository.host_names(session, [event.id]))[event.id]
    host_ids = await _host_ids(session, usernames)
    await repository.set_hosts(session, event.id, host_ids.values(), actor.user_id)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="event.hosts",
        target_type="event",
        target_id=event.id,
        before={"hosts": before},
        after={"hosts": sorted(host_ids)},
    )
    return await to_out(session, event)


async def rotate_code(session: AsyncSession, *, actor: Actor, event_id: uuid.UUID) -> EventOut:
    """A new join code: the old link stops working, seats already given stay."""
    event = await _get(session, event_id)
    had = event.join_code is not None
    event.join_code = _new_code()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="event.code.rotate",
        target_type="event",
        target_id=event.id,
        before={"code": "set" if had else "revoked"},
        after={"code": "rotated"},
    )
    return await to_out(session, event)


async def revoke_code(session: AsyncSession, *, actor: Actor, event_id: uuid.UUID) -> EventOut:
    """No join link any more (seats already given stay); rotation gives a new one."""
    event = await _get(session, event_id)
    event.join_code = None
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="event.code.revoke",
        target_type="event",
        target_id=event.id,
        after={"code": "revoked"},
    )
    return await to_out(session, event)


def join_url(public_url: str, code: str) -> str:
    return public_url.rstrip("/") + JOIN_PATH + code


def qr_svg(url: str) -> str:
    """The join link as an SVG QR code for the room's screen (no XML declaration: inline or served)."""
    return str(segno.make(url, error="m").svg_inline(scale=8, border=2, dark="#000", light="#fff"))


async def end_event(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, event_id: uuid.UUID, reason: str = "ended"
) -> EventOut:
    """End now: every seat's key is deleted at LiteLLM, the event's grants end; the join link says "ended"."""
    event = await repository.lock(session, event_id)
    if event is None:
        raise errors.EventNotFound(event_id)
    if event.status == "ended":
        return await to_out(session, event)
    seats = await repository.seats(session, event.id, status="active", for_update=True)
    await access.lock_users(session, [s.user_id for s in seats])
    revoked = await keys.revoke_keys(
        session,
        litellm,
        actor=actor,
        key_ids=[s.key_id for s in seats if s.key_id is not None],
        reason=f"event '{event.name}' {reason}",
    )
    for seat in seats:
        await _end_seat(session, litellm, actor=actor, event=event, seat=seat, status="ended", reason=reason)
    event.status = "ended"
    event.ended_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="event.end",
        target_type="event",
        target_id=event.id,
        before={"status": "active"},
        after={"status": "ended", "seats": len(seats), "keys_revoked": revoked},
        reason=reason,
    )
    log.info("event.end.done", event_id=str(event.id), seats=len(seats), keys=revoked)
    return await to_out(session, event)


async def _end_seat(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    event: Event,
    seat: EventSeat,
    status: str,
    reason: str,
) -> None:
    """The seat's grants end (its key is already revoked); the seat is marked ``status``."""
    seat.status = status
    seat.ended_at = utcnow()
    seat.ended_reason = reason
    await session.flush()
    # A model another live event of the user also grants stays: its grant moves to that seat, so
    # it ends when that event ends (that seat found it active and recorded nothing for it).
    holders = await repository.live_seats_holding(session, seat.user_id, seat.granted_model_ids, excluding_seat=seat.id)
    for model_id, holder in holders.items():
        holder.granted_model_ids = sorted({*holder.granted_model_ids, model_id})
    ending = [m for m in seat.granted_model_ids if m not in holders]
    await subscriptions.end_event_grants(
        session,
        litellm,
        actor=actor,
        user_id=seat.user_id,
        model_ids=ending,
        reason=f"event '{event.name}' {reason}"[:500],
    )


async def due_event_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Events whose end has passed and that are not closed yet (their keys expired at LiteLLM already)."""
    return list(await repository.due_events(session, utcnow()))


# --------------------------------------------------------------------------- seats


async def _seat_outs(
    session: AsyncSession,
    seats: Sequence[EventSeat],
    secrets_by_seat: dict[uuid.UUID, str] | None = None,
    key_rows: dict[uuid.UUID, ApiKey] | None = None,
) -> list[SeatOut]:
    names = await repository.usernames(session, [s.user_id for s in seats])
    if key_rows is None:
        key_rows = await repository.keys(session, [s.key_id for s in seats if s.key_id is not None])
    out: list[SeatOut] = []
    for seat in seats:
        key = key_rows.get(seat.key_id) if seat.key_id is not None else None
        out.append(
            SeatOut(
                id=seat.id,
                event_id=seat.event_id,
                user_id=seat.user_id,
                username=names.get(seat.user_id, str(seat.user_id)),
                status=seat.status,
                source=seat.source,
                key_id=seat.key_id,
                key_display=f"sk-…{key.last4}" if key is not None else None,
                created_at=seat.created_at,
            )
        )
    return out


async def _with_key(session: AsyncSession, seat: EventSeat, secret: str | None) -> SeatKeyOut:
    view = (await _seat_outs(session, [seat]))[0]
    return SeatKeyOut(**view.model_dump(), key=secret, created=secret is not None)


def _key_alias(event: Event) -> str:
    return keys.FIXED_ALIAS_PREFIX + event.id.hex[:12]


async def _create_seat(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, event: Event, user: User, source: str
) -> tuple[EventSeat, str]:
    """Seat ``user`` at the locked ``event``: grants, then the key (LiteLLM), then the seat row."""
    if event.seats_taken >= event.capacity:
        raise errors.event_full()
    await access.lock_user(session, user.id)
    models = await repository.live_models(session, event.id)
    if not models:
        raise errors.InvalidEvent("none of the event's models is available now", field="models")
    # The grants are flushed here but reach the user's other keys at LiteLLM only once the seat's
    # key exists: a join that fails at the key leaves no model on those keys that our rows deny.
    activated, pending_push = await subscriptions.grant_for_event(
        session, litellm, actor=actor, user_id=user.id, model_ids=list(models), event_name=event.name
    )
    created = await keys.issue_fixed_key(
        session,
        litellm,
        actor=actor,
        owner=user,
        alias=_key_alias(event),
        model_names=sorted(models.values()),
        limits=_limits(event),
        expires_at=event.ends_at,
        metadata={META_EVENT_ID: str(event.id)},
    )
    seat = EventSeat(
        id=uuid.uuid4(),
        event_id=event.id,
        user_id=user.id,
        key_id=created.id,
        status="active",
        source=source,
        granted_model_ids=activated,
    )
    repository.add(session, seat)
    event.seats_taken += 1
    await session.flush()
    await pending_push()
    await audit.record(
        session,
        actor=actor,
        action="event.seat.create",
        target_type="event",
        target_id=event.id,
        after={"seat_id": seat.id, "user_id": user.id, "source": source, "key_last4": created.last4},
    )
    return seat, created.key


@dataclass(frozen=True, slots=True)
class JoinResult:
    event: EventOut
    seat: SeatKeyOut


async def _joinable(event: Event) -> None:
    state = status_of(event)
    if state == "ended":
        raise errors.event_ended()
    if state == "scheduled":
        raise errors.event_not_started()


async def event_for_code(session: AsyncSession, code: str) -> EventOut:
    """What the join page shows before joining (a revoked or rotated code: ``JoinCodeInvalid``)."""
    event = await repository.by_code(session, code) if code else None
    if event is None:
        raise errors.JoinCodeInvalid()
    return await to_out(session, event)


async def seat_for(session: AsyncSession, event_id: uuid.UUID, user_id: uuid.UUID) -> SeatOut | None:
    seat = await repository.seat_of(session, event_id, user_id)
    return (await _seat_outs(session, [seat]))[0] if seat is not None else None


async def join(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Principal, user: User, code: str
) -> JoinResult:
    """The caller's seat at the event of ``code``.

    Created on the first join (with its key, shown once); joining again gives the same seat.
    """
    found = await repository.by_code(session, code) if code else None
    if found is None:
        raise errors.JoinCodeInvalid()
    seat = await repository.seat_of(session, found.id, user.id)
    if seat is None:
        await _joinable(found)
        event = await repository.lock(session, found.id)
        if event is None or event.join_code != code:
            raise errors.JoinCodeInvalid()
        # Another join of this user may have won the lock first.
        seat = await repository.seat_of(session, event.id, user.id)
        if seat is None:
            await _joinable(event)
            seat, secret = await _create_seat(session, litellm, actor=actor, event=event, user=user, source="join")
            log.info("event.join.done", event_id=str(event.id), seat_id=str(seat.id))
            return JoinResult(for_attendee(await to_out(session, event)), await _with_key(session, seat, secret))
        found = event
    if seat.status == "revoked":
        raise errors.seat_revoked()
    return JoinResult(for_attendee(await to_out(session, found)), await _with_key(session, seat, None))


async def add_seats(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, event_id: uuid.UUID, body: SeatsIn
) -> list[SeatKeyOut]:
    """Seats for lab environments: new lab users (``count``) or the named existing users.

    Keys are returned once, for the seats this call created; a named user who already has a
    seat gets it back without a key. All or nothing: a full event refuses the whole request.
    """
    event = await repository.lock(session, event_id)
    if event is None:
        raise errors.EventNotFound(event_id)
    if status_of(event) == "ended":
        raise errors.event_ended()
    people: list[User] = []
    if body.usernames is not None:
        found = await repository.users_by_username(session, body.usernames)
        unknown = [n for n in body.usernames if n not in found]
        if unknown:
            raise errors.InvalidEvent(
                f"unknown user(s) {', '.join(unknown[:10])} (users exist once they have logged in)", field="usernames"
            )
        people = [found[n] for n in dict.fromkeys(body.usernames)]
    else:
        start = await repository.count_lab_seats(session, event.id)
        count = body.count or 0
        if event.seats_taken + count > event.capacity:
            raise errors.event_full()
        for n in range(start + 1, start + count + 1):
            name = f"lab-{event.id.hex[:8]}-{n:03d}"
            people.append(await users.ensure_lab_user(session, actor=actor, username=name))
    new = [p for p in people if await repository.seat_of(session, event.id, p.id) is None]
    if event.seats_taken + len(new) > event.capacity:
        raise errors.event_full()
    out: list[SeatKeyOut] = []
    for person in people:
        existing = await repository.seat_of(session, event.id, person.id)
        if existing is not None:
            out.append(await _with_key(session, existing, None))
            continue
        seat, secret = await _create_seat(session, litellm, actor=actor, event=event, user=person, source="api")
        out.append(await _with_key(session, seat, secret))
    log.info("event.seats.done", event_id=str(event.id), created=sum(1 for s in out if s.created))
    return out


async def list_seats(session: AsyncSession, event_id: uuid.UUID) -> list[SeatOut]:
    return await _seat_outs(session, await repository.seats(session, event_id))


async def _seat_of_event(session: AsyncSession, event: Event, seat_id: uuid.UUID) -> EventSeat:
    seat = await repository.get_seat(session, seat_id, for_update=True)
    if seat is None or seat.event_id != event.id:
        raise errors.SeatNotFound(seat_id)
    return seat


async def revoke_seat(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, event: Event, seat_id: uuid.UUID
) -> SeatOut:
    """One attendee's seat ends now: key deleted at LiteLLM, the event's grants end; joining again is refused."""
    seat = await _seat_of_event(session, event, seat_id)
    if seat.status != "active":
        return (await _seat_outs(session, [seat]))[0]
    await access.lock_user(session, seat.user_id)
    if seat.key_id is not None:
        await keys.revoke_keys(
            session, litellm, actor=actor, key_ids=[seat.key_id], reason=f"seat at event '{event.name}' revoked"
        )
    await _end_seat(session, litellm, actor=actor, event=event, seat=seat, status="revoked", reason="seat revoked")
    await audit.record(
        session,
        actor=actor,
        action="event.seat.revoke",
        target_type="event",
        target_id=event.id,
        before={"seat_id": seat.id, "user_id": seat.user_id, "status": "active"},
        after={"seat_id": seat.id, "user_id": seat.user_id, "status": "revoked"},
    )
    return (await _seat_outs(session, [seat]))[0]


async def set_seat_limits(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    event: Event,
    seat_id: uuid.UUID,
    body: EventLimits,
) -> AttendeeOut:
    """Raise (or lower) one attendee's key limits; fields not sent stay.

    A host who is not an admin is an ordinary user: they may move a limit up to
    ``HOST_RAISE_FACTOR`` times the event's own, never clear one (unlimited) and never change
    their own seat. Admins may set anything.
    """
    seat = await _seat_of_event(session, event, seat_id)
    if seat.status != "active" or seat.key_id is None:
        raise errors.JoinRefused("seat_not_active", "this seat is not active")
    sent = {name: getattr(body, name) for name in body.model_fields_set}
    if isinstance(actor, Principal) and not actor.can(Permission.EVENTS_WRITE):
        _check_host_limits(event, seat, actor, sent)
    await access.lock_user(session, seat.user_id)
    await keys.set_fixed_key_terms(
        session, litellm, actor=actor, key_id=seat.key_id, limits=sent, reason=f"event '{event.name}' seat limits"
    )
    await audit.record(
        session,
        actor=actor,
        action="event.seat.limits",
        target_type="event",
        target_id=event.id,
        after={"seat_id": seat.id, "user_id": seat.user_id, **sent},
    )
    attendees = await _attendees(session, [seat], {})
    return attendees[0]


HOST_RAISE_FACTOR = 10
"""How far a host (not an admin) may raise an attendee's limit: this many times the event's own."""


def _check_host_limits(event: Event, seat: EventSeat, host: Principal, sent: dict[str, float | int | None]) -> None:
    if seat.user_id == host.user_id:
        raise errors.HostLimitRefused("a host cannot change the limits of their own seat", field="seat_id")
    for name, value in sent.items():
        event_value = getattr(event, name)
        if value is None:
            if event_value is not None:
                raise errors.HostLimitRefused("a host cannot remove a limit the event sets", field=name)
            continue
        if event_value is not None and value > event_value * HOST_RAISE_FACTOR:
            raise errors.HostLimitRefused(
                f"a host may raise it to at most {HOST_RAISE_FACTOR} times the event's "
                f"{event_value:g}; ask an admin for more",
                field=name,
            )


# --------------------------------------------------------------------------- the host's view


def _figures(sums: Sums) -> UsageFigures:
    return UsageFigures(
        requests=sums.requests,
        successful_requests=sums.successful_requests,
        failed_requests=sums.failed_requests,
        prompt_tokens=sums.prompt_tokens,
        completion_tokens=sums.completion_tokens,
        total_tokens=sums.prompt_tokens + sums.completion_tokens,
        spend=sums.spend,
    )


RECENT_MINUTES = 5
"""The host view's "right now": 429s and errors per attendee over this many minutes."""


async def _attendees(
    session: AsyncSession,
    seats: Sequence[EventSeat],
    per_key: dict[uuid.UUID, Sums],
    recent: dict[uuid.UUID, tuple[int, int]] | None = None,
    key_rows: dict[uuid.UUID, ApiKey] | None = None,
) -> list[AttendeeOut]:
    if key_rows is None:
        key_rows = await repository.keys(session, [s.key_id for s in seats if s.key_id])
    views = await _seat_outs(session, seats, key_rows=key_rows)
    out = []
    for seat, view in zip(seats, views, strict=True):
        key = key_rows.get(seat.key_id) if seat.key_id is not None else None
        sums = per_key.get(seat.key_id, Sums()) if seat.key_id is not None else Sums()
        limited, errors = (recent or {}).get(seat.key_id, (0, 0)) if seat.key_id is not None else (0, 0)
        out.append(
            AttendeeOut(
                **view.model_dump(),
                rpm_limit=key.rpm_limit if key else None,
                tpm_limit=key.tpm_limit if key else None,
                max_budget=key.max_budget if key else None,
                usage=_figures(sums),
                rate_limited_recently=limited,
                errors_recently=errors,
            )
        )
    return out


async def _recent_failures(runtime: UsageRuntime, keys: Iterable[ApiKey]) -> dict[uuid.UUID, tuple[int, int]] | None:
    by_hash = {k.token_hash: k.id for k in keys if k.status == "active"}
    found = await usage.recent_failures(runtime, sorted(by_hash), utcnow() - timedelta(minutes=RECENT_MINUTES))
    return None if found is None else {by_hash[h]: v for h, v in found.items() if h in by_hash}


async def host_view(session: AsyncSession, runtime: UsageRuntime, event: Event) -> HostViewOut:
    """Attendees with their requests, tokens, spend and failures, per attendee and per model (from the usage cache)."""
    seats = await repository.seats(session, event.id)
    key_ids = [s.key_id for s in seats if s.key_id is not None]
    start = event.starts_at.date()
    end = min(event.ends_at, utcnow()).date()
    fresh = True
    rows: dict[tuple[uuid.UUID, str], Sums] = {}
    if key_ids and start <= end:
        rows, fresh = await usage.sums_by_key_and_model(session, runtime, key_ids=key_ids, start=start, end=end)
    per_key: dict[uuid.UUID, Sums] = {}
    per_model: dict[str, Sums] = {}
    total = Sums()
    for (key_id, model), sums in rows.items():
        per_key[key_id] = usage.add(per_key.get(key_id, Sums()), sums)
        per_model[model] = usage.add(per_model.get(model, Sums()), sums)
        total = usage.add(total, sums)
    key_rows = await repository.keys(session, key_ids)
    recent = await _recent_failures(runtime, key_rows.values()) if key_rows else {}
    return HostViewOut(
        event=await to_out(session, event),
        attendees=await _attendees(session, seats, per_key, recent, key_rows),
        models=[ModelUsageOut(model=m, **_figures(s).model_dump()) for m, s in sorted(per_model.items())],
        totals=_figures(total),
        usage_fresh=fresh,
        recent_minutes=RECENT_MINUTES,
        recent_available=recent is not None,
    )


CSV_COLUMNS = (
    "username",
    "status",
    "source",
    "joined_at",
    "key",
    "rpm_limit",
    "tpm_limit",
    "max_budget",
    "requests",
    "failed_requests",
    "rate_limited_recently",
    "prompt_tokens",
    "completion_tokens",
    "spend",
)


def csv_rows(view: HostViewOut) -> list[list[str]]:
    """The attendee list with usage, as CSV rows (header first); no key material but its last 4."""
    rows = [list(CSV_COLUMNS)]
    for a in view.attendees:
        rows.append(
            [
                a.username,
                a.status,
                a.source,
                a.created_at.isoformat(),
                a.key_display or "",
                "" if a.rpm_limit is None else str(a.rpm_limit),
                "" if a.tpm_limit is None else str(a.tpm_limit),
                "" if a.max_budget is None else str(a.max_budget),
                str(a.usage.requests),
                str(a.usage.failed_requests),
                str(a.rate_limited_recently),
                str(a.usage.prompt_tokens),
                str(a.usage.completion_tokens),
                f"{a.usage.spend:.6f}",
            ]
        )
    return rows
