"""A value loaded on demand and kept in process for a few seconds (the portal's branding and banners)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["TtlValue"]


class TtlValue(Generic[T]):
    """One value, reloaded when older than ``ttl_seconds``; ``invalidate()`` drops it at once.

    Per process: another replica sees a change when its copy expires (within ``ttl_seconds``).
    """

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._value: T | None = None
        self._last: T | None = None
        self._expires = 0.0
        self._generation = 0

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        if self._value is not None and time.monotonic() < self._expires:
            return self._value
        generation = self._generation
        value = await load()
        # A load that started before an invalidation may hold the old value: use it, keep it not.
        if generation == self._generation and self._ttl > 0:
            self._value = self._last = value
            self._expires = time.monotonic() + self._ttl
        return value

    def peek(self) -> T | None:
        """The last value kept (even expired or invalidated), without loading; None before the first load."""
        return self._last

    async def invalidate(self) -> None:
        self._generation += 1
        self._value = None
        self._expires = 0.0
