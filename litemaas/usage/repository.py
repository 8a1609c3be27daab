"""All SQL of the usage domain: the cached days, the refresh lock, analytics and export queries.

Reads the names it shows (users, keys, models) from their tables without writing them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.usage.errors import RefreshBusy

# The one advisory lock every refresher (any replica, the CLI) takes before it reads LiteLLM and
# rewrites days: the second of two concurrent refreshers waits, then finds the days fresh.
REFRESH_LOCK_ID = 0x4C4D5553_0001  # "LMUS", 1

EXTERNAL_PREFIX = "external:"
# How much of a foreign key's hash identifies it in the API: enough to be unique, not the token id.
EXTERNAL_HASH_CHARS = 16


class Sums(NamedTuple):
    """Summed metrics of a group of rows."""

    requests: int = 0
    successful_requests: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    spend: float = 0.0
    response_time_ms: int = 0
    timed_requests: int = 0


ZERO = Sums()

_SUMS = """
       sum(requests)::bigint, sum(successful_requests)::bigint, sum(failed_requests)::bigint,
       sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, coalesce(sum(spend), 0)::float8,
       sum(response_time_ms)::bigint, sum(timed_requests)::bigint"""


def _sums(values: Sequence[Any]) -> Sums:
    return Sums._make(v or 0 for v in values)


@dataclass(frozen=True, slots=True)
class UsageScope:
    """Which rows a query covers: a day range, and filters (an empty filter does not filter)."""

    start: date
    end: date
    # None: every user (admin); a tuple: only these LiteMaaS users (a user's own view: one).
    user_ids: tuple[uuid.UUID, ...] | None = None
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    key_ids: tuple[uuid.UUID, ...] = ()
    # First EXTERNAL_HASH_CHARS characters of hashes of keys LiteMaaS did not issue.
    external_keys: tuple[str, ...] = ()

    def with_range(self, start: date, end: date) -> UsageScope:
        return UsageScope(start, end, self.user_ids, self.models, self.providers, self.key_ids, self.external_keys)


def _where(scope: UsageScope, alias: str = "") -> tuple[str, dict[str, Any]]:
    p = f"{alias}." if alias else ""
    clauses = [f"{p}day BETWEEN :start AND :end"]
    params: dict[str, Any] = {"start": scope.start, "end": scope.end}
    if scope.user_ids is not None:
        clauses.append(f"{p}user_id = ANY(:user_ids)")
        params["user_ids"] = list(scope.user_ids)
    if scope.models:
        clauses.append(f"{p}model = ANY(:models)")
        params["models"] = list(scope.models)
    if scope.providers:
        clauses.append(f"{p}provider = ANY(:providers)")
        params["providers"] = list(scope.providers)
    if scope.key_ids or scope.external_keys:
        params["key_ids"] = list(scope.key_ids)
        params["external_keys"] = list(scope.external_keys)
        clauses.append(
            f"({p}key_id = ANY(:key_ids) OR ({p}key_id IS NULL "
            f"AND left({p}token_hash, {EXTERNAL_HASH_CHARS}) = ANY(:external_keys)))"
        )
    return " AND ".join(clauses), params


# --------------------------------------------------------------------------- cached days


@dataclass(frozen=True, slots=True)
class DayRecord:
    day: date
    fetched_at: datetime
    final: bool
    rows: int
    fetches: int
    fingerprint: str


async def day_states(session: AsyncSession, start: date, end: date) -> dict[date, DayRecord]:
    result = await session.execute(
        text(
            "SELECT day, fetched_at, final, rows, fetches, fingerprint FROM usage_days "
            "WHERE day BETWEEN :start AND :end"
        ),
        {"start": start, "end": end},
    )
    return {row[0]: DayRecord(*row) for row in result}


async def cache_version(session: AsyncSession) -> tuple[str, int, datetime | None]:
    """Changes whenever any cached day's rows change: analytics results are cached under it."""
    row = (await session.execute(text("SELECT current_database(), count(*), max(changed_at) FROM usage_days"))).one()
    return str(row[0]), int(row[1]), row[2]


async def cache_summary(session: AsyncSession) -> tuple[int, int, datetime | None]:
    row = (
        await session.execute(text("SELECT count(*), coalesce(sum(rows), 0), max(fetched_at) FROM usage_days"))
    ).one()
    return int(row[0]), int(row[1]), row[2]


async def take_refresh_lock(session: AsyncSession, wait_seconds: float) -> None:
    """Wait (at most ``wait_seconds``) for the refresh lock; held until the transaction ends."""
    await session.execute(
        text("SELECT set_config('lock_timeout', :timeout, true)"), {"timeout": f"{int(wait_seconds * 1000)}ms"}
    )
    try:
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": REFRESH_LOCK_ID})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03" or "lock timeout" in str(exc.orig):
            raise RefreshBusy("another usage refresh is running; try again shortly") from None
        raise


_STAGING_COLUMNS = (
    "day",
    "token_hash",
    "litellm_user_id",
    "model",
    "provider",
    "endpoint",
    "requests",
    "successful_requests",
    "failed_requests",
    "prompt_tokens",
    "completion_tokens",
    "spend",
    "response_time_ms",
    "timed_requests",
)


async def _driver_connection(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def stage_rows(session: AsyncSession, rows: AsyncIterable[tuple[Any, ...]]) -> int:
    """COPY ``rows`` (in ``_STAGING_COLUMNS`` order) into a temporary table, as they arrive."""
    await session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS usage_staging ("
            " day date NOT NULL, token_hash varchar(64) NOT NULL, litellm_user_id varchar(255) NOT NULL,"
            " model varchar(255) NOT NULL, provider varchar(64) NOT NULL, endpoint varchar(128) NOT NULL,"
            " requests bigint NOT NULL, successful_requests bigint NOT NULL, failed_requests bigint NOT NULL,"
            " prompt_tokens bigint NOT NULL, completion_tokens bigint NOT NULL, spend float8 NOT NULL,"
            " response_time_ms bigint NOT NULL, timed_requests bigint NOT NULL"
            ") ON COMMIT DROP"
        )
    )
    await session.execute(text("TRUNCATE usage_staging"))
    driver = await _driver_connection(session)
    status: str = await driver.copy_records_to_table("usage_staging", records=rows, columns=_STAGING_COLUMNS)
    return int(status.rsplit(" ", 1)[-1]) if status else 0


async def staged_fingerprints(session: AsyncSession) -> dict[date, tuple[int, str]]:
    """Per staged day: (rows, fingerprint of rows, requests, tokens and spend)."""
    result = await session.execute(
        text(
            "SELECT day, count(*), sum(requests)::bigint, sum(prompt_tokens + completion_tokens)::bigint,"
            " sum(spend)::float8 FROM usage_staging GROUP BY day"
        )
    )
    return {row[0]: (int(row[1]), f"{row[1]}:{row[2]}:{row[3]}:{row[4]!r}") for row in result}


async def replace_days(session: AsyncSession, days: Sequence[date]) -> int:
    """Replace the cached rows of ``days`` with the staged ones, attributed and labelled."""
    if not days:
        return 0
    await session.execute(text("DELETE FROM usage_daily WHERE day = ANY(:days)"), {"days": list(days)})
    # Pass-through routes (the hooks' tokenize and document conversion) reach LiteLLM's daily table
    # with an empty endpoint (their call type has no entry in its endpoint map); the model tells them apart.
    result = await session.execute(
        text(
            """
            INSERT INTO usage_daily (day, token_hash, model, provider, endpoint, litellm_user_id, user_id, key_id,
                requests, successful_requests, failed_requests, prompt_tokens, completion_tokens, spend,
                response_time_ms, timed_requests)
            SELECT s.day, s.token_hash, s.model, s.provider,
                   CASE WHEN s.endpoint <> '' THEN s.endpoint
                        WHEN m.capabilities[1] = 'document_conversion' THEN '/docling'
                        WHEN 'tokenize' = ANY(m.capabilities) THEN '/tokenize'
                        ELSE '' END,
                   s.litellm_user_id, t.user_id, t.key_id,
                   s.requests, s.successful_requests, s.failed_requests, s.prompt_tokens, s.completion_tokens,
                   s.spend, s.response_time_ms, s.timed_requests
            FROM usage_staging s
            LEFT JOIN api_key_tokens t ON t.token_hash = s.token_hash
            LEFT JOIN catalog_models m ON m.name = s.model
            WHERE s.day = ANY(:days)
            """
        ),
        {"days": list(days)},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def save_day_states(
    session: AsyncSession,
    states: Iterable[tuple[date, int, str, bool, bool]],
    fetched_at: datetime,
) -> None:
    """Upsert (day, rows, fingerprint, final, changed) after a fetch.

    ``changed_at`` is the database's clock at the write, so the cache version moves forward
    whatever clock each refresher decided by.
    """
    values = [
        {"day": day, "rows": rows, "fingerprint": fingerprint, "final": final, "changed": changed, "at": fetched_at}
        for day, rows, fingerprint, final, changed in states
    ]
    if not values:
        return
    await session.execute(
        text(
            """
            INSERT INTO usage_days (day, fetched_at, final, rows, fetches, fingerprint, changed_at)
            VALUES (:day, :at, :final, :rows, 1, :fingerprint, clock_timestamp())
            ON CONFLICT (day) DO UPDATE SET
                fetched_at = EXCLUDED.fetched_at, final = EXCLUDED.final, rows = EXCLUDED.rows,
                fetches = usage_days.fetches + 1, fingerprint = EXCLUDED.fingerprint,
                changed_at = CASE WHEN :changed THEN clock_timestamp() ELSE usage_days.changed_at END
            """
        ),
        values,
    )


async def analyze(session: AsyncSession) -> None:
    """Fresh planner statistics after a bulk rewrite (autovacuum would get there later)."""
    await session.execute(text("ANALYZE usage_daily"))


async def attribute_new_tokens(session: AsyncSession) -> int:
    """Attribute rows of hashes that have since been recorded for a LiteMaaS key."""
    result = await session.execute(
        text(
            """
            WITH attributed AS (
                UPDATE usage_daily u SET user_id = t.user_id, key_id = t.key_id
                FROM api_key_tokens t
                WHERE u.key_id IS NULL AND u.token_hash = t.token_hash
                RETURNING u.day
            ), days AS (SELECT day, count(*) AS n FROM attributed GROUP BY day)
            UPDATE usage_days d SET changed_at = clock_timestamp() FROM days WHERE d.day = days.day
            RETURNING days.n
            """
        )
    )
    return sum(int(row[0]) for row in result)


# --------------------------------------------------------------------------- analytics


@dataclass(slots=True)
class Grouped:
    """Every breakdown of a scope, summed (before names, sorting and paging)."""

    days: dict[date, Sums] = field(default_factory=dict)
    # (LiteMaaS user id, or None and the LiteLLM user of a foreign key)
    users: dict[tuple[uuid.UUID | None, str | None], Sums] = field(default_factory=dict)
    models: dict[str, Sums] = field(default_factory=dict)
    providers: dict[str, Sums] = field(default_factory=dict)
    endpoints: dict[str, Sums] = field(default_factory=dict)
    # (LiteMaaS key id, or None and the external key's hash prefix and LiteLLM user)
    keys: dict[tuple[uuid.UUID | None, str | None, str | None], Sums] = field(default_factory=dict)


async def grouped(session: AsyncSession, scope: UsageScope) -> Grouped:
    """One pass over the scope's rows with GROUPING SETS: per day, user, model, provider, endpoint, key."""
    where, params = _where(scope)
    # The groups are few (days + users + models + keys...), but the planner, estimating them from
    # column statistics, sorts and spills under the default 4 MB; and JIT compiling the expressions
    # costs more than it saves on a million rows (measured: 2.5 s -> 0.9 s with both settings).
    await session.execute(text("SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true)"))
    result = await session.execute(
        text(
            f"""
            SELECT GROUPING(day), GROUPING(user_id), GROUPING(model), GROUPING(provider), GROUPING(endpoint),
                   GROUPING(key_id), day, user_id, ext_owner, model, provider, endpoint, key_id, ext_key, {_SUMS}
            FROM (SELECT day, user_id, model, provider, endpoint, key_id,
                         requests, successful_requests, failed_requests, prompt_tokens, completion_tokens,
                         spend, response_time_ms, timed_requests,
                         CASE WHEN user_id IS NULL THEN litellm_user_id END AS ext_owner,
                         CASE WHEN key_id IS NULL THEN left(token_hash, {EXTERNAL_HASH_CHARS}) END AS ext_key
                  FROM usage_daily WHERE {where}) u
            GROUP BY GROUPING SETS ((day), (user_id, ext_owner), (model), (provider), (endpoint),
                                    (key_id, ext_key, ext_owner))
            """  # noqa: S608  only _where()'s fixed clauses and our constants are interpolated; every value is a bound parameter
        ),
        params,
    )
    out = Grouped()
    for row in result:
        g_day, g_user, g_model, g_provider, g_endpoint, g_key = row[0:6]
        day, user_id, ext_owner, model, provider, endpoint, key_id, ext_key = row[6:14]
        sums = _sums(row[14:22])
        if g_day == 0:
            out.days[day] = sums
        elif g_user == 0 and g_key == 1:
            out.users[(user_id, ext_owner if user_id is None else None)] = sums
        elif g_model == 0:
            out.models[model] = sums
        elif g_provider == 0:
            out.providers[provider] = sums
        elif g_endpoint == 0:
            out.endpoints[endpoint] = sums
        else:
            out.keys[(key_id, ext_key, ext_owner if key_id is None else None)] = sums
    return out


async def totals(session: AsyncSession, scope: UsageScope) -> Sums:
    where, params = _where(scope)
    row = (await session.execute(text(f"SELECT {_SUMS} FROM usage_daily WHERE {where}"), params)).one()  # noqa: S608  _SUMS and _where()'s clauses are fixed; values are bound
    return _sums(row)


class KeyName(NamedTuple):
    alias: str
    last4: str
    status: str
    user_id: uuid.UUID
    username: str
    # "user", or "playground" for the backend's per-user playground key.
    purpose: str


class ModelName(NamedTuple):
    display_name: str
    deleted: bool


async def usernames(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    result = await session.execute(text("SELECT id, username FROM users WHERE id = ANY(:ids)"), {"ids": wanted})
    return {row[0]: row[1] for row in result}


async def key_names(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, KeyName]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    result = await session.execute(
        text(
            "SELECT k.id, k.alias, k.last4, k.status, k.user_id, u.username, k.purpose FROM api_keys k "
            "JOIN users u ON u.id = k.user_id WHERE k.id = ANY(:ids)"
        ),
        {"ids": wanted},
    )
    return {row[0]: KeyName(*row[1:]) for row in result}


async def model_names(session: AsyncSession, names: Iterable[str]) -> dict[str, ModelName]:
    wanted = list(set(names))
    if not wanted:
        return {}
    result = await session.execute(
        text(
            "SELECT name, display_name, (deleted_at IS NOT NULL OR NOT available) FROM catalog_models "
            "WHERE name = ANY(:names)"
        ),
        {"names": wanted},
    )
    return {row[0]: ModelName(row[1], bool(row[2])) for row in result}


# --------------------------------------------------------------------------- validation lookups


async def existing_users(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    result = await session.execute(text("SELECT id FROM users WHERE id = ANY(:ids)"), {"ids": list(ids)})
    return {row[0] for row in result}


async def key_owners(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    result = await session.execute(text("SELECT id, user_id FROM api_keys WHERE id = ANY(:ids)"), {"ids": list(ids)})
    return {row[0]: row[1] for row in result}


async def known_external_keys(session: AsyncSession, prefixes: Sequence[str]) -> set[str]:
    result = await session.execute(
        text(
            f"SELECT DISTINCT left(token_hash, {EXTERNAL_HASH_CHARS}) FROM usage_daily "  # noqa: S608  only our integer constant is interpolated; the prefixes are a bound parameter
            f"WHERE key_id IS NULL AND left(token_hash, {EXTERNAL_HASH_CHARS}) = ANY(:prefixes)"
        ),
        {"prefixes": list(prefixes)},
    )
    return {row[0] for row in result}


async def known_models(session: AsyncSession, names: Sequence[str]) -> set[str]:
    """Names in the catalog (deleted ones too) or in the usage history."""
    result = await session.execute(
        text(
            "SELECT name FROM catalog_models WHERE name = ANY(:names) "
            "UNION SELECT n FROM unnest(CAST(:names AS text[])) n "
            "WHERE EXISTS (SELECT 1 FROM usage_daily WHERE model = n)"
        ),
        {"names": list(names)},
    )
    return {row[0] for row in result}


async def known_providers(session: AsyncSession, names: Sequence[str]) -> set[str]:
    result = await session.execute(
        text(
            "SELECT n FROM unnest(CAST(:names AS text[])) n WHERE EXISTS (SELECT 1 FROM usage_daily WHERE provider = n)"
        ),
        {"names": list(names)},
    )
    return {row[0] for row in result}


# --------------------------------------------------------------------------- export


async def set_read_only(session: AsyncSession) -> None:
    await session.execute(text("SET TRANSACTION READ ONLY"))


class ExportRow(NamedTuple):
    day: date
    user_id: uuid.UUID | None
    username: str | None
    litellm_user_id: str
    key_id: uuid.UUID | None
    external_key: str | None
    key_alias: str | None
    key_status: str | None
    model: str
    provider: str
    endpoint: str
    sums: Sums


async def stream_daily_rows(session: AsyncSession, scope: UsageScope, batch: int = 2000) -> AsyncIterator[ExportRow]:
    """The scope's rows in primary-key order through a server-side cursor (never all in memory)."""
    where, params = _where(scope, "d")
    result = await session.stream(
        text(
            f"""
            SELECT /* usage.export */ d.day, d.user_id, u.username, d.litellm_user_id, d.key_id,
                   CASE WHEN d.key_id IS NULL THEN left(d.token_hash, {EXTERNAL_HASH_CHARS}) END,
                   k.alias, k.status, d.model, d.provider, d.endpoint,
                   d.requests, d.successful_requests, d.failed_requests, d.prompt_tokens, d.completion_tokens,
                   d.spend, d.response_time_ms, d.timed_requests
            FROM usage_daily d
            LEFT JOIN users u ON u.id = d.user_id
            LEFT JOIN api_keys k ON k.id = d.key_id
            WHERE {where}
            ORDER BY d.day, d.token_hash, d.model, d.provider, d.endpoint, d.litellm_user_id
            """  # noqa: S608  only _where()'s fixed clauses and our constants are interpolated; every value is a bound parameter
        ).execution_options(yield_per=batch),
        params,
    )
    async for row in result:
        yield ExportRow._make((*row[0:11], Sums._make(row[11:19])))


async def sums_by_key_and_model(
    session: AsyncSession, key_ids: Sequence[uuid.UUID], start: date, end: date
) -> dict[tuple[uuid.UUID, str], Sums]:
    """Usage of the given keys per (key, model) over a day range (an event's host view)."""
    if not key_ids:
        return {}
    result = await session.execute(
        text(
            f"""SELECT key_id, model, {_SUMS} FROM usage_daily
                WHERE day BETWEEN :start AND :end AND key_id = ANY(:key_ids) GROUP BY key_id, model"""  # noqa: S608  _SUMS is fixed; values are bound
        ),
        {"start": start, "end": end, "key_ids": list(key_ids)},
    )
    return {(row[0], row[1]): _sums(row[2:]) for row in result}
