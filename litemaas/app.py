"""The FastAPI application: ``create_app()`` and its lifespan (engine, Redis, clients)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import httpx
import structlog
from fastapi import Depends, FastAPI

from litemaas.api import api_router
from litemaas.auth.dependencies import IDENTITY_PROVIDERS, SESSIONS
from litemaas.auth.providers import build_providers
from litemaas.auth.router import login_router
from litemaas.auth.sessions import SessionManager
from litemaas.banners import service as banners
from litemaas.branding import service as branding
from litemaas.config import Settings, get_settings, require_settings
from litemaas.db import ENGINE, SESSIONMAKER, create_engine, create_sessionmaker
from litemaas.dependencies import HTTP_CLIENT, METRICS, SETTINGS
from litemaas.errors import install_error_handlers
from litemaas.health.router import metrics_router
from litemaas.jobs.service import render_metrics as job_metrics
from litemaas.kit.crypto import random_token
from litemaas.kit.forwarded import TrustedProxies, TrustedProxyMiddleware
from litemaas.kit.metrics import HttpMetrics, MetricsMiddleware
from litemaas.kit.nul_guard import refuse_nul_characters
from litemaas.kit.request_context import RequestContextMiddleware
from litemaas.litellm_admin.client import LiteLLMAdminClient
from litemaas.litellm_admin.dependencies import LITELLM_ADMIN, LITELLM_DAILY_SPEND, create_client, create_daily_spend
from litemaas.logging import configure_logging
from litemaas.redis import REDIS, create_redis
from litemaas.users.cache import USER_CACHE, UserStateCache
from litemaas.web import install_portal

log = structlog.get_logger("litemaas.app")


def _session_secret(settings: Settings) -> str:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    # Development only (production refuses to start without one): sessions end at restart
    # and are not shared between processes.
    log.warning("app.session_secret.ephemeral")
    return random_token(48)


def _litellm_admin(settings: Settings) -> LiteLLMAdminClient | None:
    if settings.master_key is None:
        log.warning("app.litellm_admin.disabled", reason="LITEMAAS_MASTER_KEY not set")
        return None
    return create_client(settings)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Builds every process-wide object once and puts each in its typed slot (see ``dependencies``)."""
    settings = SETTINGS.get(app)
    require_settings(settings, "database_url", purpose="the LiteMaaS backend")
    engine = create_engine(cast(str, settings.database_url))  # set: required just above
    redis = create_redis(settings.redis_url)
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
    providers = build_providers(settings)
    litellm_admin = _litellm_admin(settings)
    ENGINE.set(app, engine)
    SESSIONMAKER.set(app, create_sessionmaker(engine))
    REDIS.set(app, redis)
    HTTP_CLIENT.set(app, http)
    IDENTITY_PROVIDERS.set(app, providers)
    USER_CACHE.set(app, UserStateCache(redis, settings.redis_key_prefix, settings.role_cache_seconds))
    SESSIONS.set(
        app,
        SessionManager(
            _session_secret(settings),
            ttl_seconds=settings.session_ttl_seconds,
            cookie_name=settings.session_cookie_name,
            csrf_cookie_name=settings.csrf_cookie_name,
            secure=settings.cookie_secure,
        ),
    )
    LITELLM_ADMIN.set(app, litellm_admin)
    # The portal's branding and banners, read at most every few seconds per replica.
    branding.BRANDING_CACHE.set(app, branding.new_cache())
    banners.BANNER_CACHE.set(app, banners.new_cache())
    # LiteLLM's daily spend (usage analytics' source): read-only, from LITEMAAS_LITELLM_DATABASE_URL.
    daily_spend = create_daily_spend(settings)
    LITELLM_DAILY_SPEND.set(app, daily_spend)
    log.info(
        "app.started",
        environment=settings.environment,
        login_providers=sorted(providers) + (["dev"] if settings.dev_login_enabled else []),
        redis=redis is not None,
    )
    try:
        yield
    finally:
        for provider in providers.values():
            await provider.aclose()
        if litellm_admin is not None:
            await litellm_admin.aclose()
        if daily_spend is not None:
            await daily_spend.aclose()
        await http.aclose()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
        log.info("app.stopped")


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    """The LiteMaaS application. Migrations are not run here: ``litemaas db upgrade`` does that.

    Tests replace a process-wide object through ``app.dependency_overrides`` (e.g.
    ``get_optional_litellm_admin``), never through arguments here.
    """
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.log_json)

    app = FastAPI(
        title="LiteMaaS",
        version="0.1.0",
        description="Governed, self-service Model-as-a-Service on the LiteLLM proxy.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        # Before every route (and before its permission check): no input may carry a NUL.
        dependencies=[Depends(refuse_nul_characters)],
    )
    metrics = HttpMetrics()
    SETTINGS.set(app, settings)
    METRICS.set(app, metrics)
    metrics.collectors.append(lambda: job_metrics(SESSIONMAKER.get(app)))
    install_error_handlers(app)
    # Join codes are secrets of their event: never in the request log.
    app.add_middleware(RequestContextMiddleware, secret_path_prefixes=("/events/join/", "/api/v1/events/join/"))
    # Before anything reads the client's address (audit, logs): forwarded headers from trusted proxies only.
    app.add_middleware(TrustedProxyMiddleware, trusted=TrustedProxies(settings.trusted_proxies))
    # Outermost, so its latency covers the whole request as the client sees it.
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(api_router)
    app.include_router(login_router)
    app.include_router(metrics_router)
    install_portal(app)
    return app
