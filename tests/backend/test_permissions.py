"""Every /api route declares a permission; every role gets exactly what the table grants.

A new route without ``require(...)`` fails ``test_every_api_route_declares_a_permission``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from litemaas.auth.dependencies import declared_permission
from litemaas.auth.permissions import ROLE_PERMISSIONS, Permission, Role
from tests.backend.backend_support import asgi_client, dev_login, free_port, unique

SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    permissions: frozenset[Permission]

    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), self.path)


def _permissions(dependant: Dependant) -> set[Permission]:
    found: set[Permission] = set()
    permission = declared_permission(dependant.call)
    if permission is not None:
        found.add(permission)
    for sub in dependant.dependencies:
        found |= _permissions(sub)
    return found


def api_routes(app: FastAPI) -> list[ApiRoute]:
    routes = []
    for ctx in iter_route_contexts(app.routes):
        path = ctx.path or ""
        dependant = getattr(ctx, "dependant", None)
        if not path.startswith("/api/") or dependant is None:
            continue
        for method in sorted(ctx.methods or ()):
            if method == "HEAD":
                continue
            routes.append(ApiRoute(method, path, frozenset(_permissions(dependant))))
    return routes


def _app() -> FastAPI:
    from litemaas.app import create_app
    from litemaas.config import Settings

    return create_app(Settings(_env_file=None, database_url="postgresql+asyncpg://unused/x"), configure_logs=False)


def test_every_api_route_declares_a_permission():
    routes = api_routes(_app())
    assert len(routes) > 10
    undeclared = [f"{r.method} {r.path}" for r in routes if not r.permissions]
    assert not undeclared, f"routes without a declared permission: {undeclared}"


def test_state_changing_admin_routes_need_more_than_admin_read():
    """SPEC §11: a read-only admin must not be able to change anything."""
    offenders = [
        f"{r.method} {r.path}"
        for r in api_routes(_app())
        if r.method not in SAFE
        and r.path.startswith("/api/v1/admin/")
        and all(p in ROLE_PERMISSIONS[Role.ADMIN_READONLY] for p in r.permissions)
    ]
    assert not offenders, offenders


def test_only_health_login_and_branding_routes_are_public():
    public = [r for r in api_routes(_app()) if r.permissions == {Permission.PUBLIC}]
    allowed_prefixes = ("/api/v1/health/", "/api/v1/auth/", "/api/v1/branding", "/api/v1/banners")
    assert all(r.path.startswith(allowed_prefixes) for r in public), [r.path for r in public]
    assert not any(r.method not in SAFE and not r.path.startswith("/api/v1/auth/") for r in public)


# Served by FastAPI itself (documentation), not by a LiteMaaS router.
_FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}
_PUBLIC_OUTSIDE_API = {
    "/",
    "/login",
    "/metrics",
    "/auth/{provider_name}/start",
    "/auth/{provider_name}/callback",
    "/auth/dev",
    "/auth/logout",
}


def test_every_route_outside_the_api_is_explicitly_public_or_protected():
    """Portal pages, login callbacks and /metrics follow the same rule as /api routes."""
    undeclared, public = [], set()
    for ctx in iter_route_contexts(_app().routes):
        path = ctx.path or ""
        if path.startswith("/api/"):
            continue
        dependant = getattr(ctx, "dependant", None)
        if dependant is None:
            if path not in _FRAMEWORK_ROUTES:
                undeclared.append(path)
            continue
        permissions = _permissions(dependant)
        if not permissions:
            undeclared.append(path)
        elif permissions == {Permission.PUBLIC}:
            public.add(path)
    assert not undeclared, f"routes without a declared permission: {undeclared}"
    assert public <= _PUBLIC_OUTSIDE_API, sorted(public - _PUBLIC_OUTSIDE_API)
    assert "/metrics" in public


async def _expect_denied(c: httpx.AsyncClient, route: ApiRoute, status: int) -> str | None:
    kwargs = {} if route.method in SAFE else {"json": {}}
    response = await c.request(route.method, route.url(), **kwargs)
    expected_code = "unauthorized" if status == 401 else "forbidden"
    if response.status_code != status or response.json().get("error") != expected_code:
        return f"{route.method} {route.path}: {response.status_code} {response.text[:200]}"
    return None


@pytest.mark.asyncio
async def test_route_by_role_matrix(make_app):
    from litemaas.litellm_admin import LiteLLMAdminClient

    # A configured LiteLLM client whose proxy is down: a denied request that reached any
    # handler would come back 503 instead of 401/403.
    dead_proxy = LiteLLMAdminClient(f"http://127.0.0.1:{free_port()}", "sk-unused-" + "x" * 24, retries=0)
    async with make_app(litellm_admin=dead_proxy) as app:
        try:
            await _matrix(app)
        finally:
            await dead_proxy.aclose()


async def _matrix(app: FastAPI) -> None:
    routes = [r for r in api_routes(app) if Permission.PUBLIC not in r.permissions]
    clients: dict[str, httpx.AsyncClient] = {}
    for role in Role:
        c = asgi_client(app)
        clients[role.value] = await dev_login(c, unique(role.value), role)
    admin_client = clients["admin"]
    created = await admin_client.post("/api/v1/admin/tokens", json={"name": "matrix", "role": "admin_readonly"})
    assert created.status_code == 201, created.text
    readonly_token = asgi_client(app, headers={"Authorization": f"Bearer {created.json()['token']}"})
    failures: list[str] = []
    async with asgi_client(app) as anonymous, readonly_token:
        for route in routes:
            failure = await _expect_denied(anonymous, route, 401)
            if failure:
                failures.append("anonymous " + failure)
            for role_name, role in (("user", Role.USER), ("admin_readonly", Role.ADMIN_READONLY)):
                if not route.permissions <= ROLE_PERMISSIONS[role]:
                    failure = await _expect_denied(clients[role_name], route, 403)
                    if failure:
                        failures.append(f"{role_name} " + failure)
                    if role is Role.ADMIN_READONLY:
                        failure = await _expect_denied(readonly_token, route, 403)
                        if failure:
                            failures.append("admin_readonly token " + failure)
    for c in clients.values():
        await c.aclose()
    assert not failures, "\n".join(failures)
    # Allowed side: the admin role holds every declared permission.
    assert all(r.permissions <= ROLE_PERMISSIONS[Role.ADMIN] for r in routes)
