"""Typed dependencies of the usage routes: who may ask, and the runtime the service works with."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import Depends

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.db import Sessionmaker
from litemaas.dependencies import AppSettings
from litemaas.litellm_admin.dependencies import OptionalLiteLLMDailySpend
from litemaas.usage.service import AnalyticsCache, UsageRuntime, policy_from

UsageOwner = Annotated[Principal, require(Permission.USAGE_OWN)]
UsageAdminReader = Annotated[Principal, require(Permission.USAGE_ADMIN_READ)]
UsageRefresher = Annotated[Principal, require(Permission.USAGE_ADMIN_REFRESH)]


@cache
def analytics_cache() -> AnalyticsCache:
    """One result cache per process (its keys carry the database and the cache version)."""
    return AnalyticsCache()


def get_usage_runtime(
    sessionmaker: Sessionmaker,
    source: OptionalLiteLLMDailySpend,
    settings: AppSettings,
    results: Annotated[AnalyticsCache, Depends(analytics_cache)],
) -> UsageRuntime:
    return UsageRuntime(sessionmaker=sessionmaker, source=source, policy=policy_from(settings), cache=results)


Runtime = Annotated[UsageRuntime, Depends(get_usage_runtime)]
