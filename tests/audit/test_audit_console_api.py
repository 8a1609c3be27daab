"""Audit API for the console: free-text search, one event, CSV export with the same filters."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from litemaas.audit.service import SystemActor, record
from litemaas.db import session_scope
from tests.support.backend import unique

pytestmark = pytest.mark.asyncio


async def _record(app: Any, **fields: Any) -> str:
    from litemaas.db import SESSIONMAKER

    async with session_scope(SESSIONMAKER.get(app)) as session:
        event = await record(session, actor=SystemActor(fields.pop("actor", "audit-test")), **fields)
        return str(event.id)


async def test_free_text_finds_reason_target_and_values(app, admin_client) -> None:
    marker = unique("needle")
    by_reason = await _record(app, action="test.thing", target_type="thing", target_id="t1", reason=f"why {marker}")
    by_value = await _record(
        app, action="test.thing", target_type="thing", target_id="t2", after={"note": f"x{marker.upper()}y"}
    )
    await _record(app, action="test.thing", target_type="thing", target_id="t3", reason="unrelated")
    page = (await admin_client.get("/api/v1/admin/audit", params={"q": marker})).json()
    assert page["total"] == 2 and {e["id"] for e in page["items"]} == {by_reason, by_value}
    # Combined with the other filters; LIKE wildcards are literal.
    narrowed = (await admin_client.get("/api/v1/admin/audit", params={"q": marker, "target_id": "t2"})).json()
    assert [e["id"] for e in narrowed["items"]] == [by_value]
    assert (await admin_client.get("/api/v1/admin/audit", params={"q": "%_%" + marker})).json()["total"] == 0


async def test_one_event_with_before_and_after(app, admin_client, readonly_client, user_client) -> None:
    event_id = await _record(
        app, action="test.change", target_type="thing", target_id="t9", before={"a": 1}, after={"a": 2}
    )
    for reader in (admin_client, readonly_client):
        event = (await reader.get(f"/api/v1/admin/audit/{event_id}")).json()
        assert event["before"] == {"a": 1} and event["after"] == {"a": 2} and event["action"] == "test.change"
    assert (await user_client.get(f"/api/v1/admin/audit/{event_id}")).status_code == 403
    missing = await admin_client.get(f"/api/v1/admin/audit/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_export_streams_csv_with_the_same_filters(app, admin_client, readonly_client, user_client) -> None:
    marker = unique("export")
    ids = [
        await _record(app, action="test.export", target_type="thing", target_id=marker, reason=f"row {i}")
        for i in range(3)
    ]
    # A value a spreadsheet would run as a formula is neutralised.
    formula = await _record(app, action="test.export", target_type="thing", target_id=marker, reason="=HYPERLINK(1)")
    response = await readonly_client.get("/api/v1/admin/audit/export", params={"target_id": marker})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4 and {r["action"] for r in rows} == {"test.export"}
    assert rows[0]["reason"] == "'=HYPERLINK(1)"  # newest first
    assert {r["target_id"] for r in rows} == {marker}
    assert ids and formula

    other = await admin_client.get("/api/v1/admin/audit/export", params={"target_id": marker, "q": "row 1"})
    assert len(list(csv.DictReader(io.StringIO(other.text)))) == 1
    assert (await user_client.get("/api/v1/admin/audit/export")).status_code == 403


async def test_bad_ranges_name_the_field(admin_client) -> None:
    now = datetime.now(UTC)
    params = {"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()}
    for path in ("/api/v1/admin/audit", "/api/v1/admin/audit/export"):
        response = await admin_client.get(path, params=params)
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "since"
    bad = await admin_client.get("/api/v1/admin/audit", params={"since": "yesterday"})
    assert bad.status_code in (400, 422) and bad.json()["field"] == "since"
