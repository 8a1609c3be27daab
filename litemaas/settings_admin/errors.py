"""Errors of admin settings (HTTP status and JSON ``error`` code in each class)."""

from __future__ import annotations

from litemaas.errors import BadRequest


class InconsistentSettings(BadRequest):
    """Settings that contradict themselves (a default above its maximum, ...); ``field`` names it."""
