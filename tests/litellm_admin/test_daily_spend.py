"""LiteLLM's daily spend table as LiteMaaS reads it: the pinned schema's columns, grouping, errors."""

from __future__ import annotations

from datetime import date

import pytest

from litemaas.litellm_admin import DailySpendRow, LiteLLMDailySpend, LiteLLMUnavailable
from tests.support.backend import free_port
from tests.usage.support import daily_row, random_hash, seed_litellm_daily

pytestmark = pytest.mark.asyncio


async def test_rows_are_grouped_to_day_key_user_model_provider_endpoint(litellm_database: str) -> None:
    token, other = random_hash(), random_hash()
    day = date(2001, 3, 4)
    seed_litellm_daily(
        litellm_database,
        [
            # Two deployments of one model group: one row for LiteMaaS.
            daily_row(token, day, user_id="u1", deployment="hosted_vllm/a", prompt=3, completion=4, spend=0.25),
            daily_row(token, day, user_id="u1", deployment="hosted_vllm/b", prompt=5, completion=6, spend=0.5),
            # Tokenize on the same model: the pass-through route has no endpoint in LiteLLM.
            daily_row(token, day, user_id="u1", endpoint="", prompt=7, completion=0, spend=0.125),
            daily_row(other, day, user_id=None, model="nomic-embed-text-v1-5", endpoint="/embeddings", failed=1),
            daily_row(token, date(2001, 3, 5), user_id="u1"),
            # A call LiteLLM recorded without a key is kept, under the all-zero hash.
            daily_row("", day, user_id=None, model="keyless-model", requests=2),
        ],
    )
    async with LiteLLMDailySpend(litellm_database) as source:
        rows = [row async for row in source.rows(day, day)]
        assert source.reads == 1

    ours = sorted(
        (r for r in rows if r.token_hash in (token, other)), key=lambda r: (r.token_hash != token, r.endpoint)
    )
    assert ours == [
        DailySpendRow(day, token, "u1", "granite-3-2-8b-instruct", "hosted_vllm", "", 1, 1, 0, 7, 0, 0.125, 100, 1),
        DailySpendRow(
            day,
            token,
            "u1",
            "granite-3-2-8b-instruct",
            "hosted_vllm",
            "/chat/completions",
            2,
            2,
            0,
            8,
            10,
            0.75,
            200,
            2,
        ),
        DailySpendRow(
            day, other, "", "nomic-embed-text-v1-5", "hosted_vllm", "/embeddings", 1, 0, 1, 10, 20, 0.001, 100, 1
        ),
    ]
    keyless = [r for r in rows if r.model == "keyless-model"]
    assert [(r.token_hash, r.requests) for r in keyless] == [("0" * 64, 2)]


async def test_prisma_parameters_in_the_url_are_ignored(litellm_database: str) -> None:
    async with LiteLLMDailySpend(litellm_database + "?schema=public&connection_limit=5") as source:
        assert [row async for row in source.rows(date(1999, 1, 1), date(1999, 1, 1))] == []


async def test_unreachable_database_is_litellm_unavailable() -> None:
    async with LiteLLMDailySpend(f"postgresql://postgres@127.0.0.1:{free_port()}/litellm", connect_timeout=2) as source:
        with pytest.raises(LiteLLMUnavailable):
            async for _ in source.rows(date(2001, 1, 1), date(2001, 1, 2)):
                pass
