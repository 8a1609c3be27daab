"""The route x role matrix, extended with the host relationship: a host of event A, on every event
route (API and portal, read off the app's route tables so a new route is covered at once), gets
nothing of event B and nothing of the admin area."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.app.test_permissions import SAFE, api_routes, page_routes
from tests.support.backend import unique
from tests.support.stack import CHAT, api

pytestmark = pytest.mark.asyncio


def _event_route(path: str) -> bool:
    return any(path.startswith(p) for p in ("/api/v1/events", "/api/v1/admin/events", "/events", "/admin/events"))


async def test_host_of_one_event_reaches_nothing_of_another(app: Any, login: Any) -> None:
    admin = api(await login(role="admin"))
    host_name = unique("host")
    host = await login(username=host_name)
    now = datetime.now(UTC)
    body = {
        "models": [CHAT],
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "capacity": 5,
    }
    event_a = (await admin.call("POST", "/admin/events", 201, json={**body, "name": "A", "hosts": [host_name]})).json()
    event_b = (await admin.call("POST", "/admin/events", 201, json={**body, "name": "B"})).json()
    attendee = api(await login())
    seat_b = (await attendee.call("POST", f"/events/join/{event_b['join_code']}", 200)).json()["seat"]
    values = {"event_id": event_b["id"], "seat_id": seat_b["id"], "code": uuid.uuid4().hex}

    routes = [(r, "api") for r in api_routes(app) if _event_route(r.path)]
    routes += [(r, "page") for r in page_routes(app) if _event_route(r.path)]
    assert len(routes) >= 30, [r.path for r, _ in routes]
    failures = []
    for route, kind in routes:
        url = route.path
        for name, value in values.items():
            url = url.replace("{" + name + "}", value)
        admin_area = route.path.startswith(("/api/v1/admin/", "/admin/"))
        scoped = "{event_id}" in route.path and not admin_area
        kwargs: dict[str, Any] = {}
        if route.method not in SAFE:
            kwargs = {"json": {}} if kind == "api" else {"data": {}}
        response = await host.request(route.method, url, **kwargs)
        if admin_area:
            ok = response.status_code == 403
        elif scoped:
            ok = response.status_code == 404
        else:
            ok = response.status_code not in (401, 403, 500)
        if not ok:
            failures.append(f"{route.method} {route.path} ({kind}): {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)
    # B is untouched; A's own host view opens.
    seats = (await admin.call("GET", f"/admin/events/{event_b['id']}/seats", 200)).json()
    assert [s["status"] for s in seats] == ["active"]
    assert (await host.get(f"/api/v1/events/{event_a['id']}/host")).status_code == 200
    assert (await host.get(f"/events/{event_a['id']}/host")).status_code == 200
