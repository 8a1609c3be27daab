"""Errors of the users domain (HTTP status and JSON ``error`` code in each class)."""

from __future__ import annotations

from litemaas.errors import BadRequest, Conflict, Forbidden, NotFound


class UserNotFound(NotFound):
    """No user has this id, username or e-mail (users exist once they have logged in)."""


class InvalidUserLimit(BadRequest):
    """A per-user limit outside the rules (at least 1, finite, a duration)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


class AmbiguousUser(Conflict):
    """A username or e-mail that matches more than one user."""


class InvalidIdentity(BadRequest):
    """The identity provider sent a user name or subject we cannot store."""

    code = "invalid_identity"


class AccountDeactivated(Forbidden):
    """A deactivated user tried to log in."""

    code = "account_deactivated"


class UsernameTaken(Conflict):
    """The username of a login belongs to another identity (provider, subject)."""

    code = "username_taken"


class SelfLockout(BadRequest):
    """An admin may not demote or deactivate their own account (another admin or the CLI can)."""


class ConfirmationRequired(BadRequest):
    """A change to many users needs ``confirm: true``."""

    code = "confirmation_required"
