"""Seats for lab environments through the typed client and the ``litemaas events seats`` CLI, against a running backend."""

from __future__ import annotations

import asyncio
import csv
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from litemaas.cli import app as cli_app
from litemaas.client import LiteMaaSAPIError, LiteMaaSClient
from tests.support.stack import CHAT, chat, sdk
from tests.web.portal_support import PortalServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _admin_token(url: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=60) as admin:
        response = await admin.post("/auth/dev", data={"username": f"admin-{uuid.uuid4().hex[:6]}", "role": "admin"})
        assert response.status_code == 303
        admin.headers["X-CSRF-Token"] = admin.cookies["litemaas_csrf"]
        created = await admin.post("/api/v1/admin/tokens", json={"name": "events-script", "role": "admin"})
        assert created.status_code == 201, created.text
        token: str = created.json()["token"]
        return token


async def test_seats_through_client_and_cli(events_server: PortalServer, litellm_stack: Any, tmp_path: Path) -> None:
    token = await _admin_token(events_server.url)
    now = datetime.now(UTC)

    def with_client() -> tuple[Any, list[Any]]:
        with LiteMaaSClient(events_server.url, token) as client:
            event = client.create_event(
                f"Lab {uuid.uuid4().hex[:6]}", [CHAT], now - timedelta(minutes=1), now + timedelta(hours=1), 3
            )
            return event, client.add_event_seats(event.id, count=2)

    event, seats = await asyncio.to_thread(with_client)
    assert [s.created for s in seats] == [True, True] and all(s.key and s.key.startswith("sk-") for s in seats)
    answer = await chat(sdk(litellm_stack, seats[0].key or ""), model=CHAT)
    assert answer.choices[0].message.content

    out = tmp_path / "seats.csv"
    out.write_text("an older, world-readable file\n")  # overwritten: it must end up 0600 too
    out.chmod(0o644)
    env = {"LITEMAAS_URL": events_server.url, "LITEMAAS_TOKEN": token}
    result = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["events", "seats", str(event.id), "--count", "1", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["created"] == "yes" and rows[0]["key"].startswith("sk-")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    answer = await chat(sdk(litellm_stack, rows[0]["key"]), model=CHAT)
    assert answer.choices[0].message.content

    # Full now: the CLI says so and fails; the client raises the API's error.
    refused = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["events", "seats", str(event.id), "--count", "1", "--out", str(out)], env=env
    )
    assert refused.exit_code == 1 and "event_full" in refused.output

    def full() -> LiteMaaSAPIError:
        with LiteMaaSClient(events_server.url, token) as client, pytest.raises(LiteMaaSAPIError) as caught:
            client.add_event_seats(event.id, count=1)
        return caught.value

    error = await asyncio.to_thread(full)
    assert error.status == 409 and error.code == "event_full"
