"""Errors of the usage domain (all rendered by the one LiteMaaSError handler)."""

from __future__ import annotations

from litemaas.errors import BadRequest, Conflict, Forbidden, UpstreamUnavailable


class InvalidUsageQuery(BadRequest):
    """A date, range, id or name in a usage query is not acceptable; ``field`` names it."""

    code = "invalid_usage_query"


class NotYourUsage(Forbidden):
    """A user asked for data that is not theirs (another user's key, a foreign key)."""

    code = "forbidden"


class UsageSourceUnavailable(UpstreamUnavailable):
    """LiteLLM's daily spend cannot be read (not configured, or unreachable)."""

    code = "usage_source_unavailable"


class RefreshBusy(Conflict):
    """Another replica held the refresh lock for longer than we were willing to wait."""

    code = "usage_refresh_busy"
