"""Errors of the api_keys domain (HTTP status and error code per class)."""

from __future__ import annotations

import uuid

from litemaas.errors import BadRequest, Conflict, LiteMaaSError, NotFound


class KeyNotFound(NotFound):
    """A key that does not exist, or another user's (which looks the same)."""

    def __init__(self, key_id: uuid.UUID) -> None:
        super().__init__(f"key {key_id} not found")


class OwnerNotFound(NotFound):
    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"user {user_id} not found")


class OwnerDeactivated(Conflict):
    def __init__(self) -> None:
        super().__init__("the user is deactivated")


class InvalidAlias(BadRequest):
    def __init__(self) -> None:
        super().__init__(
            "alias: 1-64 characters, letters, digits, space, '_', '-', '.' (starting with a letter or digit)",
            field="alias",
        )


class AliasTaken(Conflict):
    def __init__(self, alias: str) -> None:
        super().__init__(f"you already have an active key named '{alias}'", field="alias")


class KeyLimitReached(Conflict):
    code = "key_limit_reached"

    def __init__(self, cap: int) -> None:
        super().__init__(f"active key limit reached ({cap}); revoke a key first")


class KeyTermsFixed(LiteMaaSError):
    """An event seat's key: its models, limits and expiry are the event's, changed by its host or an admin."""

    status = 403
    code = "key_terms_fixed"

    def __init__(self, field: str) -> None:
        super().__init__(
            f"{field}: this key belongs to an event seat; its models, limits, expiry and name are set by the event",
            field=field,
        )


class KeyRevoked(Conflict):
    """The action needs a live key; ``doing`` completes "a revoked key ..."."""

    def __init__(self, doing: str) -> None:
        super().__init__(f"a revoked key {doing}")


class KeyGoneInLiteLLM(Conflict):
    def __init__(self) -> None:
        super().__init__("the key no longer exists in LiteLLM; reconcile will mark it revoked")


class InvalidLimit(BadRequest):
    """A key limit outside the rules (at least 1, finite, a duration, within the admin maximums)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
