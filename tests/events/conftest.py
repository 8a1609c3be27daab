"""Event fixtures: the backend on the real LiteLLM proxy (``app``, ``login``) and, for the browser
and the typed client, the same over real HTTP with LiteLLM's spend data wired in (``events_server``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from litemaas.config import Settings
from tests.fixtures.stack import stack_app as app  # noqa: F401 - `app`, `login` talk to the real proxy here
from tests.support.backend import free_port
from tests.support.stack import stack_settings
from tests.web.portal_support import PortalServer, serve_app


@pytest.fixture(scope="session")
def events_server(portal_settings: Settings, litellm_stack: Any) -> Iterator[PortalServer]:
    """A backend served over HTTP on the real proxy, reading LiteLLM's spend (host view), catalog synced."""
    from litemaas.app import create_app

    port = free_port()
    settings = stack_settings(portal_settings, litellm_stack).model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}",
            "litellm_database_url": litellm_stack.litellm_database_url,
            "usage_grace_seconds": 0,
            "usage_today_ttl_seconds": 0,
        }
    )
    served = create_app(settings, configure_logs=False)
    with serve_app(served, port) as url:
        with httpx.Client(base_url=url, timeout=60) as admin:
            response = admin.post("/auth/dev", data={"username": "events-sync-admin", "role": "admin"})
            assert response.status_code == 303, response.text
            admin.headers["X-CSRF-Token"] = admin.cookies["litemaas_csrf"]
            assert admin.post("/api/v1/admin/models/sync").status_code == 200
        yield PortalServer(url=url, app=served)
