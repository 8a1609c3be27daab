"""Read LiteLLM's daily spend aggregate (``LiteLLM_DailyUserSpend``), the source of usage analytics,
and its request log's recent failures (``LiteLLM_SpendLogs``: who is being rate-limited now).

Why a read-only SQL query and not the HTTP ``/user/daily/activity`` family: those endpoints fold
each day into one-dimensional breakdowns (models × key, providers × key, endpoints × key), so the
joint row usage analytics needs — day × key × user × model × provider × endpoint, where a key's
tokenize calls and chat calls on the same model differ only by endpoint — cannot be rebuilt from
them, and reading a busy day through them re-aggregates it in LiteLLM's Python. The table is
LiteLLM's own aggregate of its spend logs (Prisma schema of the pinned version); the columns read
here are checked by ``tests/litellm_admin/test_daily_spend.py`` so an upgrade that moves them fails
loudly. Only ``SELECT`` in a read-only transaction; a database role with ``SELECT`` on this one
table is enough.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import structlog

from litemaas.litellm_admin.errors import LiteLLMUnavailable
from litemaas.litellm_admin.schemas import DailySpendRow

log = structlog.get_logger("litemaas.litellm_admin.daily_spend")

# Rows are grouped to LiteMaaS's grain: LiteLLM keeps one row per deployment model and MCP tool as
# well, which usage analytics does not show. ``model`` is the public model name (model group).
# A call LiteLLM recorded without a key keeps a row too, under an all-zero hash.
# Strings are cut to the lengths of LiteMaaS's columns; sums are cast back to bigint/float8
# (SUM(bigint) is numeric in PostgreSQL).
_ROWS_SQL = """
SELECT date::date AS day,
       coalesce(nullif(api_key, ''), repeat('0', 64)) AS token_hash,
       left(coalesce(user_id, ''), 255) AS litellm_user_id,
       left(coalesce(nullif(model_group, ''), model, ''), 255) AS model,
       left(coalesce(custom_llm_provider, ''), 64) AS provider,
       left(coalesce(endpoint, ''), 128) AS endpoint,
       sum(api_requests)::bigint AS requests,
       sum(successful_requests)::bigint AS successful_requests,
       sum(failed_requests)::bigint AS failed_requests,
       sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(spend)::float8 AS spend,
       sum(total_response_time_ms)::bigint AS response_time_ms,
       sum(timed_requests)::bigint AS timed_requests
FROM "LiteLLM_DailyUserSpend"
WHERE date >= $1 AND date <= $2
GROUP BY 1, 2, 3, 4, 5, 6
"""

# Failed requests of some keys since a moment, from LiteLLM's request log (one row per request,
# written in batches within seconds): 429 answers (rate limits, budgets) apart from other errors.
# Served by LiteLLM's ("api_key", "startTime") index.
_RECENT_FAILURES_SQL = """
SELECT api_key,
       count(*) FILTER (WHERE metadata -> 'error_information' ->> 'error_code' = '429')::bigint AS limited,
       count(*) FILTER (WHERE coalesce(metadata -> 'error_information' ->> 'error_code', '') <> '429')::bigint
           AS errors
FROM "LiteLLM_SpendLogs"
WHERE api_key = ANY($1::text[]) AND "startTime" >= $2 AND status = 'failure'
GROUP BY api_key
"""

# Prisma-only connection parameters that libpq/asyncpg would send to the server as settings.
_PRISMA_PARAMS = frozenset({"schema", "connection_limit", "pool_timeout", "pgbouncer", "statement_cache_size"})


def _asyncpg_dsn(url: str) -> str:
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _PRISMA_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


class LiteLLMDailySpend:
    """Read-only access to LiteLLM's daily spend table; one small pool per process."""

    def __init__(self, database_url: str, *, connect_timeout: float = 5.0, batch_rows: int = 5000) -> None:
        self._dsn = _asyncpg_dsn(database_url)
        self._connect_timeout = connect_timeout
        self._batch_rows = batch_rows
        self._pool: asyncpg.Pool | None = None
        # Upstream reads made by this instance (observable in tests and logs).
        self.reads = 0

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            try:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=2,
                    timeout=self._connect_timeout,
                    server_settings={"application_name": "litemaas-usage"},
                )
            except (OSError, asyncpg.PostgresError) as exc:
                raise LiteLLMUnavailable(
                    f"LiteLLM's database is unreachable: {type(exc).__name__}", operation="daily_spend.connect"
                ) from None
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def recent_failures(self, token_hashes: Sequence[str], since: datetime) -> dict[str, tuple[int, int]]:
        """Per key hash: (requests refused with 429, other failed requests) since ``since`` (UTC)."""
        if not token_hashes:
            return {}
        pool = await self._get_pool()
        start = since.astimezone(UTC).replace(tzinfo=None)  # LiteLLM stores naive UTC timestamps
        try:
            async with pool.acquire() as conn, conn.transaction(readonly=True):
                records = await conn.fetch(_RECENT_FAILURES_SQL, list(token_hashes), start)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise LiteLLMUnavailable(
                f"reading LiteLLM's request log failed: {type(exc).__name__}", operation="spend_logs.recent_failures"
            ) from None
        return {r["api_key"]: (int(r["limited"]), int(r["errors"])) for r in records}

    async def rows(self, start: date, end: date) -> AsyncIterator[DailySpendRow]:
        """Every daily row from ``start`` to ``end`` (inclusive), streamed through a server cursor.

        One call is one upstream read, however many rows it yields.
        """
        self.reads += 1
        pool = await self._get_pool()
        count = 0
        try:
            async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
                cursor = conn.cursor(_ROWS_SQL, start.isoformat(), end.isoformat(), prefetch=self._batch_rows)
                async for record in cursor:
                    count += 1
                    yield DailySpendRow._make(record.values())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise LiteLLMUnavailable(
                f"reading LiteLLM's daily spend failed: {type(exc).__name__}", operation="daily_spend.rows"
            ) from None
        log.info("litellm_admin.daily_spend.read", start=start.isoformat(), end=end.isoformat(), rows=count)
