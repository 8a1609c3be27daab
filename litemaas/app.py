"""The FastAPI application: ``create_app()`` and its lifespan (engine, Redis, clients)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import Depends, FastAPI

from litemaas.auth.providers import build_providers
from litemaas.auth.sessions import SessionManager
from litemaas.config import Settings, get_settings
from litemaas.db import create_engine, create_sessionmaker
from litemaas.errors import install_error_handlers
from litemaas.kit.crypto import random_token
from litemaas.kit.forwarded import TrustedProxies, TrustedProxyMiddleware
from litemaas.kit.metrics import HttpMetrics, MetricsMiddleware
from litemaas.kit.nul_guard import refuse_nul_characters
from litemaas.kit.request_context import RequestContextMiddleware
from litemaas.litellm_admin.dependencies import create_daily_spend
from litemaas.logging import configure_logging
from litemaas.redis import create_redis
from litemaas.users.cache import UserStateCache
from litemaas.users.provisioning import LiteLLMUserProvisioner, UserProvisioner

log = structlog.get_logger("litemaas.app")

_UNSET: Any = object()


def _session_secret(settings: Settings) -> str:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    # Development only (production refuses to start without one): sessions end at restart
    # and are not shared between processes.
    log.warning("app.session_secret.ephemeral")
    return random_token(48)


def _litellm_admin(settings: Settings) -> Any:
    if settings.master_key is None:
        log.warning("app.litellm_admin.disabled", reason="LITEMAAS_MASTER_KEY not set")
        return None
    from litemaas.litellm_admin.dependencies import create_client

    return create_client(settings)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not settings.database_url:
        raise RuntimeError("LITEMAAS_DATABASE_URL is not set (postgresql+asyncpg://.../litemaas)")
    engine = create_engine(settings.database_url)
    redis = create_redis(settings.redis_url)
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
    providers = build_providers(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.redis = redis
    app.state.http = http
    app.state.identity_providers = providers
    app.state.user_cache = UserStateCache(redis, settings.redis_key_prefix, settings.role_cache_seconds)
    app.state.sessions = SessionManager(
        _session_secret(settings),
        ttl_seconds=settings.session_ttl_seconds,
        cookie_name=settings.session_cookie_name,
        csrf_cookie_name=settings.csrf_cookie_name,
        secure=settings.cookie_secure,
    )
    overrides: dict[str, Any] = app.state.overrides
    app.state.litellm_admin = overrides.get("litellm_admin", _UNSET)
    if app.state.litellm_admin is _UNSET:
        app.state.litellm_admin = _litellm_admin(settings)
    # LiteLLM's daily spend (usage analytics' source): read-only, from LITEMAAS_LITELLM_DATABASE_URL.
    app.state.litellm_daily_spend = create_daily_spend(settings)
    provisioner: UserProvisioner | None = overrides.get("user_provisioner", _UNSET)
    if provisioner is _UNSET:
        provisioner = LiteLLMUserProvisioner(app.state.litellm_admin) if app.state.litellm_admin else None
    app.state.user_provisioner = provisioner
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
        if app.state.litellm_admin is not None and "litellm_admin" not in overrides:
            await app.state.litellm_admin.aclose()
        if app.state.litellm_daily_spend is not None:
            await app.state.litellm_daily_spend.aclose()
        await http.aclose()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
        log.info("app.stopped")


def create_app(
    settings: Settings | None = None,
    *,
    user_provisioner: UserProvisioner | None = _UNSET,
    litellm_admin: Any = _UNSET,
    configure_logs: bool = True,
) -> FastAPI:
    """The LiteMaaS application. Migrations are not run here: ``litemaas db upgrade`` does that."""
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.log_json)
    from litemaas.api import api_router
    from litemaas.auth.router import login_router
    from litemaas.health.router import metrics_router
    from litemaas.web.router import router as web_router

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
    app.state.settings = settings
    app.state.overrides = {
        k: v for k, v in (("user_provisioner", user_provisioner), ("litellm_admin", litellm_admin)) if v is not _UNSET
    }
    app.state.metrics = HttpMetrics()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    # Before anything reads the client's address (audit, logs): forwarded headers from trusted proxies only.
    app.add_middleware(TrustedProxyMiddleware, trusted=TrustedProxies(settings.trusted_proxies))
    # Outermost, so its latency covers the whole request as the client sees it.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.include_router(api_router)
    app.include_router(login_router)
    app.include_router(metrics_router)
    app.include_router(web_router)
    return app
