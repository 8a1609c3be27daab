"""Per-request user state (role, active) behind a cache of at most a few seconds.

Roles are never frozen into a session token: every request reads them through this
cache, and every change deletes the cached entry, so a demotion applies at once on every
replica sharing Redis (and within the TTL on a replica without Redis).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.auth.permissions import Role
from litemaas.kit.app_state import AppSlot
from litemaas.users import repository

# The in-process fallback (no Redis) is cleared rather than grown past this.
_MEMORY_MAX_ENTRIES = 10_000

log = structlog.get_logger("litemaas.users.cache")


@dataclass(frozen=True, slots=True)
class UserState:
    user_id: uuid.UUID
    username: str
    role: Role
    is_active: bool


class UserStateCache:
    """Read-through cache of ``UserState`` keyed by user id (Redis when available)."""

    def __init__(self, redis: Redis | None, prefix: str, ttl_seconds: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._memory: dict[uuid.UUID, tuple[float, UserState]] = {}

    def _key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}user-state:{user_id}"

    async def get(self, session: AsyncSession, user_id: uuid.UUID) -> UserState | None:
        if self._ttl <= 0:
            return await self._load(session, user_id)
        if self._redis is not None:
            try:
                raw = await self._redis.get(self._key(user_id))
            except RedisError:
                log.warning("users.cache.redis_unavailable")
                return await self._load(session, user_id)
            if raw:
                data = json.loads(raw)
                return UserState(user_id, data["username"], Role(data["role"]), bool(data["is_active"]))
            state = await self._load(session, user_id)
            if state is not None:
                payload = {k: v for k, v in asdict(state).items() if k != "user_id"}
                try:
                    await self._redis.set(self._key(user_id), json.dumps(payload), px=int(self._ttl * 1000))
                except RedisError:
                    log.warning("users.cache.redis_unavailable")
            return state
        now = time.monotonic()
        hit = self._memory.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        state = await self._load(session, user_id)
        if state is not None:
            if len(self._memory) > _MEMORY_MAX_ENTRIES:
                self._memory.clear()
            self._memory[user_id] = (now + self._ttl, state)
        return state

    async def invalidate(self, user_id: uuid.UUID) -> None:
        self._memory.pop(user_id, None)
        if self._redis is not None:
            try:
                await self._redis.delete(self._key(user_id))
            except RedisError:
                log.warning("users.cache.redis_unavailable")

    @staticmethod
    async def _load(session: AsyncSession, user_id: uuid.UUID) -> UserState | None:
        row = await repository.role_row(session, user_id)
        if row is None:
            return None
        return UserState(user_id, row.username, Role(row.role), row.is_active)


USER_CACHE = AppSlot[UserStateCache]("user_cache")


def get_user_cache(request: Request) -> UserStateCache:
    return USER_CACHE.get(request.app)


UserCache = Annotated[UserStateCache, Depends(get_user_cache)]
