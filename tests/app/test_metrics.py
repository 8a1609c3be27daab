"""``GET /metrics``: Prometheus text format, requests by route template (never the raw path)."""

from __future__ import annotations

import re
import uuid

from tests.support.backend import asgi_client


def _samples(body: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    found: dict[frozenset[tuple[str, str]], float] = {}
    for line in body.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1)))
            found[labels] = float(match.group(2))
    return found


async def test_metrics_are_public_prometheus_text(client):
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE litemaas_http_requests_total counter" in response.text
    assert "# TYPE litemaas_http_request_duration_seconds histogram" in response.text


async def test_requests_are_counted_by_route_template_and_status(app, admin_client):
    user_id = uuid.uuid4()
    for _ in range(2):
        assert (await admin_client.get(f"/api/v1/admin/users/{user_id}")).status_code == 404
    async with asgi_client(app) as anonymous:
        assert (await anonymous.get(f"/api/v1/admin/users/{user_id}")).status_code == 401
        assert (await anonymous.get(f"/no/such/page/{user_id}")).status_code == 404
        assert (await anonymous.request("BREW", "/api/v1/health/live")).status_code == 405
        body = (await anonymous.get("/metrics")).text

    assert str(user_id) not in body and "/no/such/page" not in body
    counts = _samples(body, "litemaas_http_requests_total")
    route = ("route", "/api/v1/admin/users/{user_id}")
    assert counts[frozenset({("method", "GET"), route, ("status", "404")})] == 2
    assert counts[frozenset({("method", "GET"), route, ("status", "401")})] == 1
    assert counts[frozenset({("method", "GET"), ("route", "unmatched"), ("status", "404")})] >= 1
    assert counts[frozenset({("method", "other"), ("route", "/api/v1/health/live"), ("status", "405")})] == 1

    labels = {("method", "GET"), route, ("status", "404")}
    buckets = _samples(body, "litemaas_http_request_duration_seconds_bucket")
    assert buckets[frozenset(labels | {("le", "+Inf")})] == 2
    assert buckets[frozenset(labels | {("le", "0.005")})] <= 2
    assert _samples(body, "litemaas_http_request_duration_seconds_count")[frozenset(labels)] == 2
    assert _samples(body, "litemaas_http_request_duration_seconds_sum")[frozenset(labels)] > 0
