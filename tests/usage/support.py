"""Helpers for the usage suites: LiteLLM's daily spend rows, waiting for LiteLLM's batched writer, a process's environment."""

from __future__ import annotations

import itertools
import random
import secrets
import time
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import psycopg

from tests.support.backend import REDIS_URL, backend_env

DAILY_COLUMNS = (
    "user_id",
    "date",
    "api_key",
    "model",
    "model_group",
    "custom_llm_provider",
    "endpoint",
    "prompt_tokens",
    "completion_tokens",
    "spend",
    "api_requests",
    "successful_requests",
    "failed_requests",
    "total_response_time_ms",
    "timed_requests",
)


def random_hash() -> str:
    return secrets.token_hex(32)


def daily_row(
    token: str,
    day: date,
    *,
    user_id: str | None = "someone",
    model: str = "granite-3-2-8b-instruct",
    deployment: str | None = None,
    provider: str = "hosted_vllm",
    endpoint: str = "/chat/completions",
    prompt: int = 10,
    completion: int = 20,
    spend: float = 0.001,
    requests: int = 1,
    failed: int = 0,
    response_ms: int = 100,
) -> tuple[Any, ...]:
    """One ``LiteLLM_DailyUserSpend`` row, as LiteLLM's writer would make it."""
    return (
        user_id,
        day.isoformat(),
        token,
        deployment or f"hosted_vllm/{model}",
        model,
        provider,
        endpoint,
        prompt,
        completion,
        spend,
        requests,
        requests - failed,
        failed,
        response_ms,
        requests,
    )


def seed_litellm_daily(litellm_database_url: str, rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows into LiteLLM's daily table (a past day's data, which real traffic cannot make)."""
    columns = ", ".join(f'"{c}"' for c in DAILY_COLUMNS)
    with psycopg.connect(litellm_database_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            f'INSERT INTO "LiteLLM_DailyUserSpend" (id, updated_at, {columns}) '
            f"VALUES (gen_random_uuid()::text, now(), {', '.join(['%s'] * len(DAILY_COLUMNS))})",
            list(rows),
        )


def add_to_litellm_daily(litellm_database_url: str, token: str, day: date, *, requests: int, spend: float) -> None:
    """More usage on a day LiteLLM already has a row for (what its writer does with later batches)."""
    with psycopg.connect(litellm_database_url, autocommit=True) as conn:
        conn.execute(
            'UPDATE "LiteLLM_DailyUserSpend" SET api_requests = api_requests + %s, '
            "successful_requests = successful_requests + %s, spend = spend + %s WHERE api_key = %s AND date = %s",
            (requests, requests, spend, token, day.isoformat()),
        )


def litellm_requests(litellm_database_url: str, tokens: Sequence[str]) -> int:
    with psycopg.connect(litellm_database_url) as conn:
        row = conn.execute(
            'SELECT coalesce(sum(api_requests), 0) FROM "LiteLLM_DailyUserSpend" WHERE api_key = ANY(%s)',
            (list(tokens),),
        ).fetchone()
    return int(row[0]) if row else 0


def wait_for_litellm(litellm_database_url: str, tokens: Sequence[str], requests: int, timeout: float = 120.0) -> None:
    """Wait until LiteLLM's batched writer has put ``requests`` calls of these keys in its daily table."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = litellm_requests(litellm_database_url, tokens)
        if seen >= requests:
            return
        time.sleep(1)
    raise AssertionError(f"LiteLLM recorded {seen} of {requests} requests within {timeout}s")


def spend_log_sums(litellm_database_url: str, tokens: Sequence[str]) -> list[dict[str, Any]]:
    """LiteLLM's own per-request records (``LiteLLM_SpendLogs``) of these keys, one dict per call."""
    with psycopg.connect(litellm_database_url) as conn:
        cursor = conn.execute(
            'SELECT api_key, "user", model_group, custom_llm_provider, call_type, prompt_tokens, completion_tokens, '
            'spend, status FROM "LiteLLM_SpendLogs" WHERE api_key = ANY(%s)',
            (list(tokens),),
        )
        names = [c.name for c in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_DAY_SLOTS = itertools.count()
_FIRST_DAY = date(2003, 1, 1) + timedelta(days=random.randrange(365 * 5))


def unused_day() -> date:
    """A past day no other test of this run uses (LiteLLM's table and the cache are shared by the
    session); 20 days apart, so a range and its previous period never meet another test's."""
    return _FIRST_DAY + timedelta(days=20 * next(_DAY_SLOTS))


def usage_env(backend_database_url: str, litellm_stack: Any, redis_prefix: str, session_secret: str) -> dict[str, str]:
    """The environment of a ``litemaas`` process on the test databases (for ``serve`` and the CLI)."""
    return backend_env(
        environment="development",
        database_url=backend_database_url,
        litellm_database_url=litellm_stack.litellm_database_url,
        redis_url=REDIS_URL,
        redis_key_prefix=redis_prefix,
        session_secret=session_secret,
        dev_login_enabled="true",
        cookie_secure="false",
        proxy_url=litellm_stack.proxy_url,
        usage_grace_seconds="0",
        log_json="true",
    )
