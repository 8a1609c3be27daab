"""Plain helpers for backend tests (fixtures live in conftest.py).

Import from here (``from tests.backend.backend_support import ...``); fixtures are reused by
importing them from ``tests.backend.conftest``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from litemaas.auth.permissions import Role

PG_ADMIN_URL = os.environ.get("LITEMAAS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LITEMAAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BASE_URL = "http://testserver"


def unique(prefix: str = "user") -> str:
    """A name no other test (or test run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def asyncpg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


def asgi_client(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 50000)), base_url=BASE_URL, **kwargs
    )


async def dev_login(client: httpx.AsyncClient, username: str, role: Role | str = Role.USER) -> httpx.AsyncClient:
    """Log ``client`` in through the development login; sets the CSRF header for later calls."""
    response = await client.post("/auth/dev", data={"username": username, "role": str(role)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/", response.headers.get("location")
    csrf = client.cookies.get("litemaas_csrf")
    assert csrf, "no CSRF cookie after login"
    client.headers["X-CSRF-Token"] = csrf
    return client


OIDC_CLIENT_ID = "litemaas-test"
OIDC_CLIENT_SECRET = "oidc-client-" + secrets.token_hex(16)
OPENSHIFT_CLIENT_ID = "litemaas-oauth-client"
OPENSHIFT_CLIENT_SECRET = "openshift-client-" + secrets.token_hex(16)


def browser(app: FastAPI, base_url: str = BASE_URL) -> httpx.AsyncClient:
    """A client that follows redirects between the app (in process) and real servers (the IdP)."""
    return httpx.AsyncClient(
        mounts={base_url: httpx.ASGITransport(app=app, client=("203.0.113.9", 50001))},
        base_url=base_url,
        follow_redirects=True,
        timeout=10.0,
    )


REPO = Path(__file__).resolve().parents[2]


@dataclass
class BackendProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
