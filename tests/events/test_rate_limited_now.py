"""The host sees who is being rate-limited right now: 429s from LiteLLM's request log, per attendee."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

from tests.support.stack import CHAT, chat, sdk
from tests.web.portal_support import PortalServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _api(url: str, username: str, role: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=60)
    response = await client.post("/auth/dev", data={"username": username, "role": role})
    assert response.status_code == 303, response.text
    client.headers["X-CSRF-Token"] = client.cookies["litemaas_csrf"]
    return client


async def test_host_view_names_the_attendee_being_rate_limited(events_server: PortalServer, litellm_stack: Any) -> None:
    url = events_server.url
    tag = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    async with contextlib.AsyncExitStack() as stack:
        admin, calm, eager = [
            await _api(url, f"{name}-{tag}", role)
            for name, role in (("admin", "admin"), ("calm", "user"), ("eager", "user"))
        ]
        for client in (admin, calm, eager):
            stack.push_async_callback(client.aclose)
        created = await admin.post(
            "/api/v1/admin/events",
            json={
                "name": f"Limits {tag}",
                "models": [CHAT],
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "capacity": 5,
                "rpm_limit": 2,
            },
        )
        assert created.status_code == 201, created.text
        event = created.json()
        keys = {}
        for who, client in (("calm", calm), ("eager", eager)):
            joined = await client.post(f"/api/v1/events/join/{event['join_code']}")
            assert joined.status_code == 200, joined.text
            keys[who] = joined.json()["seat"]["key"]

        await chat(sdk(litellm_stack, keys["calm"]), model=CHAT)
        refused = 0
        for _ in range(5):
            try:
                await chat(sdk(litellm_stack, keys["eager"]), model=CHAT)
            except openai.RateLimitError:
                refused += 1
        assert refused >= 3  # 2 requests per minute: the proxy refuses the rest with 429

        # LiteLLM writes its request log in batches: wait until the refusals are there.
        deadline = time.monotonic() + 90
        while True:
            view = (await admin.get(f"/api/v1/events/{event['id']}/host")).json()
            rows = {a["username"]: a for a in view["attendees"]}
            if rows[f"eager-{tag}"]["rate_limited_recently"] >= refused or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        assert view["recent_available"] is True and view["recent_minutes"] == 5
        assert rows[f"eager-{tag}"]["rate_limited_recently"] == refused, rows
        assert rows[f"calm-{tag}"]["rate_limited_recently"] == 0 and rows[f"calm-{tag}"]["errors_recently"] == 0

        page = await admin.get(f"/events/{event['id']}/host")
        assert page.status_code == 200
        assert "rate-limited in the last 5 minutes" in page.text and f"eager-{tag}" in page.text
        csv_text = (await admin.get(f"/api/v1/events/{event['id']}/host/export.csv")).text
        header, *lines = csv_text.splitlines()
        assert "rate_limited_recently" in header.split(",")
        column = header.split(",").index("rate_limited_recently")
        eager_line = next(line for line in lines if line.startswith(f"eager-{tag},"))
        assert eager_line.split(",")[column] == str(refused)
