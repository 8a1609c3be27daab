"""Typed slots on ``app.state``: the lifespan fills each slot once, one dependency reads it back.

``app.state`` itself is untyped (any attribute, ``Any``). A slot names one attribute and its
type, so both the writer (``SLOT.set(app, value)``) and the reader (``SLOT.get(app)``) are
checked by mypy, and a read before the lifespan ran fails with a message saying so.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from starlette.applications import Starlette

T = TypeVar("T")

__all__ = ["AppSlot"]


class AppSlot(Generic[T]):
    """One process-wide value kept on ``app.state`` under ``name``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def set(self, app: Starlette, value: T) -> None:
        setattr(app.state, self.name, value)

    def get(self, app: Starlette) -> T:
        try:
            value: T = getattr(app.state, self.name)
        except AttributeError:
            raise RuntimeError(f"app.state.{self.name} is not set: the application's lifespan has not run") from None
        return value

    def __repr__(self) -> str:
        return f"AppSlot({self.name!r})"
