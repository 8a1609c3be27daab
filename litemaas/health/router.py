"""``/api/v1/health/live`` (process up) and ``/api/v1/health/ready`` (database and proxy reachable)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission

router = APIRouter(prefix="/health", tags=["health"])
log = structlog.get_logger("litemaas.health")


@router.get("/live", dependencies=[require(Permission.PUBLIC)])
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> str:
    try:
        async with request.app.state.engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=3)
        return "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means "not ready"
        log.warning("health.database.failed", error_type=type(exc).__name__)
        return "unavailable"


async def _check_proxy(request: Request) -> str:
    client: httpx.AsyncClient = request.app.state.http
    url = request.app.state.settings.proxy_url.rstrip("/") + "/health/liveliness"
    try:
        response = await client.get(url, timeout=3)
        return "ok" if response.status_code == 200 else "unavailable"
    except httpx.HTTPError as exc:
        log.warning("health.proxy.failed", error_type=type(exc).__name__)
        return "unavailable"


@router.get("/ready", dependencies=[require(Permission.PUBLIC)])
async def ready(request: Request) -> JSONResponse:
    database, proxy = await asyncio.gather(_check_database(request), _check_proxy(request))
    checks: dict[str, Any] = {"database": database, "proxy": proxy}
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
