"""App-wide typed dependencies that belong to no domain: settings, the outbound HTTP client, metrics.

The other process-wide objects have their dependency next to their owner: the database session
and session maker in ``db``, Redis in ``redis``, browser sessions and identity providers in
``auth.dependencies``, the user cache in ``users.dependencies``, the LiteLLM admin
client in ``litellm_admin.dependencies``. ``create_app`` and its lifespan fill every slot once;
tests replace a dependency with ``app.dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from litemaas.config import Settings
from litemaas.kit.app_state import AppSlot
from litemaas.kit.metrics import HttpMetrics

SETTINGS = AppSlot[Settings]("settings")
HTTP_CLIENT = AppSlot[httpx.AsyncClient]("http")
METRICS = AppSlot[HttpMetrics]("metrics")


def get_app_settings(request: Request) -> Settings:
    """The settings the application was created with (not re-read from the environment)."""
    return SETTINGS.get(request.app)


def get_http_client(request: Request) -> httpx.AsyncClient:
    return HTTP_CLIENT.get(request.app)


def get_metrics(request: Request) -> HttpMetrics:
    return METRICS.get(request.app)


AppSettings = Annotated[Settings, Depends(get_app_settings)]
HttpClient = Annotated[httpx.AsyncClient, Depends(get_http_client)]
Metrics = Annotated[HttpMetrics, Depends(get_metrics)]
