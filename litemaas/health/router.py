"""``/api/v1/health/live`` (process up), ``/api/v1/health/ready`` (database and proxy reachable)
and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import httpx
import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.db import DatabaseEngine
from litemaas.dependencies import AppSettings, HttpClient, Metrics
from litemaas.kit.metrics import CONTENT_TYPE

router = APIRouter(prefix="/health", tags=["health"])
# Outside /api/v1, where scrapers look by default.
metrics_router = APIRouter(tags=["health"], include_in_schema=False)
log = structlog.get_logger("litemaas.health")


@router.get("/live", dependencies=[require(Permission.PUBLIC)])
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(engine: AsyncEngine) -> str:
    try:
        async with engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=3)
        return "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means "not ready"
        log.warning("health.database.failed", error_type=type(exc).__name__)
        return "unavailable"


async def _check_proxy(client: httpx.AsyncClient, proxy_url: str) -> str:
    url = proxy_url.rstrip("/") + "/health/liveliness"
    try:
        response = await client.get(url, timeout=3)
        return "ok" if response.status_code == HTTPStatus.OK else "unavailable"
    except httpx.HTTPError as exc:
        log.warning("health.proxy.failed", error_type=type(exc).__name__)
        return "unavailable"


@router.get("/ready", dependencies=[require(Permission.PUBLIC)])
async def ready(engine: DatabaseEngine, client: HttpClient, settings: AppSettings) -> JSONResponse:
    database, proxy = await asyncio.gather(_check_database(engine), _check_proxy(client, settings.proxy_url))
    checks: dict[str, Any] = {"database": database, "proxy": proxy}
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


# Public like the probes: a scraper carries no session, and the figures are per route template,
# with no ids or user data. Keep it off the public Route/Ingress if even that is too much.
@metrics_router.get("/metrics", dependencies=[require(Permission.PUBLIC)])
async def metrics(registry: Metrics) -> Response:
    return Response(await registry.render_all(), media_type=CONTENT_TYPE)
