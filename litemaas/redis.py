"""The shared Redis connection (optional: without Redis, one replica still works).

LiteLLM shares this Redis for rate limits and caches, so LiteMaaS only ever touches keys
under its own prefix and deletes them one by one — never FLUSHALL / FLUSHDB.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from litemaas.kit.app_state import AppSlot

KEY_PREFIX = "litemaas:"


def redis_key(*parts: object, prefix: str = KEY_PREFIX) -> str:
    """A namespaced key, e.g. ``redis_key("user", uid)`` -> ``litemaas:user:<uid>``."""
    return prefix + ":".join(str(p) for p in parts)


def create_redis(url: str | None) -> Redis | None:
    if not url:
        return None
    return Redis.from_url(url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0)


REDIS = AppSlot[Redis | None]("redis")


def get_redis(request: Request) -> Redis | None:
    return REDIS.get(request.app)


OptionalRedis = Annotated[Redis | None, Depends(get_redis)]
