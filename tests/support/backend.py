"""Plain helpers for backend tests: unique names, in-process clients, the development login.

The fixtures that use them live in ``tests/fixtures/backend.py`` (registered for the whole suite
by ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from litemaas.auth.permissions import Role
from tests.support.services import PG_ADMIN_URL, REDIS_URL, REPO, free_port

# The services' names are re-exported: backend tests take everything they need from here.
__all__ = [
    "BASE_URL",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OPENSHIFT_CLIENT_ID",
    "OPENSHIFT_CLIENT_SECRET",
    "PG_ADMIN_URL",
    "REDIS_URL",
    "REPO",
    "BackendProcess",
    "asgi_client",
    "asyncpg_url",
    "backend_env",
    "browser",
    "dev_login",
    "free_port",
    "http_login",
    "start_backend",
    "unique",
]

BASE_URL = "http://testserver"


def unique(prefix: str = "user") -> str:
    """A name no other test (or test run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


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


def http_login(url: str, username: str, role: Role | str = Role.USER, *, timeout: float = 60) -> httpx.Client:
    """A client on a backend served over real HTTP, logged in through the development form.

    The caller closes it (``with closing(http_login(...)) as browser``); the CSRF header is set.
    """
    browser = httpx.Client(base_url=url, timeout=timeout)
    response = browser.post("/auth/dev", data={"username": username, "role": str(role)})
    assert response.status_code == 303, response.text
    browser.headers["X-CSRF-Token"] = browser.cookies["litemaas_csrf"]
    return browser


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


@dataclass
class BackendProcess:
    """``litemaas serve`` in its own process; ``env`` is the environment it was started with."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def backend_env(**settings: str) -> dict[str, str]:
    """This process's environment without any ``LITEMAAS_*`` variable, plus ``settings`` as ``LITEMAAS_<NAME>``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITEMAAS_")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(REPO)})
    env.update({f"LITEMAAS_{name.upper()}": value for name, value in settings.items()})
    return env


def start_backend(env: dict[str, str], port: int, log_path: Path, *, cwd: Path | None = None) -> BackendProcess:
    """Start ``litemaas serve --port PORT`` with ``env`` and wait until it is live (at most 60 s)."""
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "litemaas.cli", "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    backend = BackendProcess(url=url, proc=proc, log_path=log_path, env=env)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"backend exited: {backend.log()[-3000:]}")
        try:
            if httpx.get(url + "/api/v1/health/live", timeout=1).status_code == 200:
                return backend
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            backend.stop()
            raise TimeoutError("backend did not start")
        time.sleep(0.1)
