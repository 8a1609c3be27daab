"""Errors of admin API tokens (HTTP status and JSON ``error`` code in each class).

A token handing out more than it holds raises ``auth.errors.TokenEscalation``: role grants
share that rule.
"""

from __future__ import annotations

from litemaas.errors import BadRequest, Forbidden, NotFound


class TokenNotFound(NotFound):
    """No token has this id (or no single active token has this name)."""


class InvalidTokenRequest(BadRequest):
    """A token request with an unusable name, role, expiry or scope (``field`` names which)."""


class TokenAboveOwner(Forbidden):
    """A token would grant more than its owner's role."""
