"""Errors of the events domain: what a join, a seat request or an event change can be refused for."""

from __future__ import annotations

import uuid

from litemaas.errors import Conflict, LiteMaaSError, NotFound


class EventNotFound(NotFound):
    # Also what a host of another event gets: an event one may not manage does not exist for them.
    def __init__(self, event_id: uuid.UUID | str) -> None:
        super().__init__(f"event {event_id} not found", code="event_not_found")


class SeatNotFound(NotFound):
    def __init__(self, seat_id: uuid.UUID) -> None:
        super().__init__(f"seat {seat_id} not found", code="seat_not_found")


class InvalidEvent(LiteMaaSError):
    """A value the schema could not judge alone (an unknown model or host, a window): 422 naming the field."""

    status = 422
    code = "validation_error"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class HostLimitRefused(LiteMaaSError):
    """A limit a host (not an admin) may not set: 403 naming the field."""

    status = 403
    code = "host_limit_refused"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class JoinRefused(Conflict):
    """Why a join did not give a seat; ``code`` is what the join page explains."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class JoinCodeInvalid(NotFound):
    def __init__(self) -> None:
        super().__init__("this join link is not valid: it was rotated, revoked or mistyped", code="join_code_invalid")


def event_full() -> JoinRefused:
    return JoinRefused("event_full", "the event is full: every seat is taken")


def event_not_started() -> JoinRefused:
    return JoinRefused("event_not_started", "the event has not started yet")


def event_ended() -> JoinRefused:
    return JoinRefused("event_ended", "the event has ended")


def seat_revoked() -> JoinRefused:
    return JoinRefused("seat_revoked", "your seat at this event was revoked by its host")


class EventEnded(Conflict):
    def __init__(self) -> None:
        super().__init__("the event has ended: it cannot be changed", code="event_ended")
