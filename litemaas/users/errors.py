"""Errors of the users domain."""

from __future__ import annotations

import uuid

from litemaas.errors import BadRequest, NotFound


class UserNotFound(NotFound):
    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"user {user_id} not found")


class InvalidUserLimit(BadRequest):
    """A per-user limit outside the rules (at least 1, finite, a duration)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
