"""Errors of the jobs domain."""

from __future__ import annotations

from litemaas.errors import NotFound


class ExemptionTargetNotFound(NotFound):
    def __init__(self, what: str, field: str) -> None:
        super().__init__(f"no such {what}", field=field)


class ExemptionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such exemption")


class JobRunNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such job run")
