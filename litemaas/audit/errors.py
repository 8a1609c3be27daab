"""Errors of the audit domain."""

from __future__ import annotations

from litemaas.errors import BadRequest, NotFound


class InvalidTimeRange(BadRequest):
    """A search whose lower time bound is not before its upper bound."""


class AuditEventNotFound(NotFound):
    """No audit event with that id."""
