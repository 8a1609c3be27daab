"""Every /api route and every portal page declares a permission; every role gets exactly what the table grants.

A new route without ``require(...)`` fails ``test_every_api_route_declares_a_permission``; a new
page without ``page_user(...)`` (or ``require(Permission.PUBLIC)``) fails
``test_every_page_declares_a_permission``.
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
from litemaas.db import is_read_only_dependency
from litemaas.web.routing import PageRoute
from tests.support.backend import asgi_client, dev_login, free_port, unique

SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    permissions: frozenset[Permission]
    # Runs in a read-only database transaction (``ReadOnlySession``): a query with a body, a view.
    read_only: bool = False

    @property
    def is_view(self) -> bool:
        return self.method in SAFE or self.read_only

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


def _read_only(dependant: Dependant) -> bool:
    return is_read_only_dependency(dependant.call) or any(_read_only(sub) for sub in dependant.dependencies)


def _under_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def api_routes(app: FastAPI) -> list[ApiRoute]:
    """Every route under /api, as the app serves it.

    A route FastAPI did not build (a mounted app, a plain Starlette route, a websocket) has no
    dependant, so nothing can declare a permission on it: it is listed with none (method ``*``
    when it has no methods) and fails ``test_every_api_route_declares_a_permission``.
    """
    routes = []
    for ctx in iter_route_contexts(app.routes):
        path = ctx.path or ""
        if not _under_api(path):
            continue
        dependant = getattr(ctx, "dependant", None)
        permissions = frozenset(_permissions(dependant)) if dependant is not None else frozenset()
        read_only = dependant is not None and _read_only(dependant)
        methods = sorted(ctx.methods or ()) or ["*"]
        for method in methods:
            if method == "HEAD":
                continue
            routes.append(ApiRoute(method, path, permissions, read_only))
    return routes


def _app() -> FastAPI:
    from litemaas.app import create_app
    from litemaas.config import Settings

    return create_app(Settings(_env_file=None, database_url="postgresql+asyncpg://unused/x"), configure_logs=False)


def _undeclared(routes: list[ApiRoute]) -> list[str]:
    return [f"{r.method} {r.path}" for r in routes if len(r.permissions) != 1]


def test_every_api_route_declares_a_permission():
    routes = api_routes(_app())
    assert len(routes) > 10
    undeclared = _undeclared(routes)
    assert not undeclared, f"routes without exactly one declared permission: {undeclared}"


def test_routes_the_framework_did_not_build_count_as_undeclared():
    """The walk cannot skip what it cannot read: raw routes and mounts under /api are reported."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def raw(request: Request) -> PlainTextResponse:
        return PlainTextResponse("no permission declared")

    app = _app()
    app.router.routes.append(Route("/api/v1/raw", raw, methods=["POST"]))
    app.router.routes.append(Mount("/api/v1/files", routes=[Route("/x", raw)]))
    assert {"POST /api/v1/raw", "* /api/v1/files"} <= set(_undeclared(api_routes(app)))


def test_state_changing_admin_routes_need_more_than_admin_read():
    """SPEC §11: a read-only admin must not be able to change anything.

    The only non-GET admin routes open to it are queries whose transaction PostgreSQL keeps
    read-only (``ReadOnlySession``).
    """
    offenders = [
        f"{r.method} {r.path}"
        for r in api_routes(_app())
        if not r.is_view
        and r.path.startswith("/api/v1/admin/")
        and all(p in ROLE_PERMISSIONS[Role.ADMIN_READONLY] for p in r.permissions)
    ]
    assert not offenders, offenders


def test_only_health_login_and_branding_routes_are_public():
    public = [r for r in api_routes(_app()) if r.permissions == {Permission.PUBLIC}]
    allowed_prefixes = ("/api/v1/health/", "/api/v1/auth/", "/api/v1/branding", "/api/v1/banners")
    assert all(r.path.startswith(allowed_prefixes) for r in public), [r.path for r in public]
    assert not any(r.method not in SAFE and not r.path.startswith("/api/v1/auth/") for r in public)


# Branding and banners (SPEC section 9): public reads, a user's own banners, admin changes under
# BRANDING_WRITE (read-only admins may look, never change).
_BRANDING_ROUTES = {
    ("GET", "/api/v1/branding"): Permission.PUBLIC,
    ("GET", "/api/v1/branding/images/{slot}"): Permission.PUBLIC,
    ("GET", "/api/v1/admin/branding"): Permission.ADMIN_READ,
    ("PUT", "/api/v1/admin/branding"): Permission.BRANDING_WRITE,
    ("PUT", "/api/v1/admin/branding/images/{slot}"): Permission.BRANDING_WRITE,
    ("DELETE", "/api/v1/admin/branding/images/{slot}"): Permission.BRANDING_WRITE,
    ("GET", "/api/v1/banners"): Permission.AUTHENTICATED,
    ("POST", "/api/v1/banners/{banner_id}/dismiss"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/admin/banners"): Permission.ADMIN_READ,
    ("POST", "/api/v1/admin/banners"): Permission.BRANDING_WRITE,
    ("PUT", "/api/v1/admin/banners/order"): Permission.BRANDING_WRITE,
    ("GET", "/api/v1/admin/banners/{banner_id}"): Permission.ADMIN_READ,
    ("PUT", "/api/v1/admin/banners/{banner_id}"): Permission.BRANDING_WRITE,
    ("DELETE", "/api/v1/admin/banners/{banner_id}"): Permission.BRANDING_WRITE,
}
_BRANDING_PAGES = {
    ("GET", "/admin/branding"): Permission.ADMIN_READ,
    ("POST", "/admin/branding"): Permission.BRANDING_WRITE,
    ("POST", "/admin/branding/images/{slot}"): Permission.BRANDING_WRITE,
    ("POST", "/admin/branding/images/{slot}/delete"): Permission.BRANDING_WRITE,
    ("GET", "/admin/banners"): Permission.ADMIN_READ,
    ("POST", "/admin/banners"): Permission.BRANDING_WRITE,
    ("GET", "/admin/banners/{banner_id}"): Permission.ADMIN_READ,
    ("POST", "/admin/banners/{banner_id}"): Permission.BRANDING_WRITE,
    ("POST", "/admin/banners/{banner_id}/delete"): Permission.BRANDING_WRITE,
    ("POST", "/admin/banners/{banner_id}/move"): Permission.BRANDING_WRITE,
    ("POST", "/banners/{banner_id}/dismiss"): Permission.AUTHENTICATED,
}


def test_branding_and_banner_routes_declare_their_permissions():
    app = _app()
    declared = {(r.method, r.path): r.permissions for r in api_routes(app)}
    declared_pages = {(r.method, r.path): r.permissions for r in page_routes(app)}
    for table, expected in ((declared, _BRANDING_ROUTES), (declared_pages, _BRANDING_PAGES)):
        wrong = {
            key: sorted(table.get(key, ())) for key, permission in expected.items() if table.get(key) != {permission}
        }
        assert not wrong, wrong
    # Nothing else under these prefixes slipped in undeclared here.
    prefixes = ("/api/v1/branding", "/api/v1/banners", "/api/v1/admin/branding", "/api/v1/admin/banners")
    assert {key for key in declared if key[1].startswith(prefixes)} == set(_BRANDING_ROUTES)
    assert {
        key for key in declared_pages if key[1].startswith(("/admin/branding", "/admin/banners", "/banners"))
    } == set(_BRANDING_PAGES)


# Served by FastAPI itself (documentation), not by a LiteMaaS router.
_FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}
_PUBLIC_OUTSIDE_API = {
    "/",
    "/login",
    "/static/{name:path}",
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


def _layout_allows(role: Role, route: ApiRoute) -> bool:
    """SPEC section 1 read off the route alone, independently of ``ROLE_PERMISSIONS``.

    Users get everything outside ``/api/v1/admin/``; read-only admins also every admin view
    (safe methods there, or a query in a read-only transaction) and never an admin change;
    admins get everything.
    """
    admin_area = route.path.startswith("/api/v1/admin/")
    if role is Role.ADMIN:
        return True
    if role is Role.ADMIN_READONLY:
        return not admin_area or route.is_view
    return not admin_area


def _protected(routes: list[ApiRoute]) -> list[ApiRoute]:
    return [r for r in routes if r.permissions != {Permission.PUBLIC}]


def test_role_permission_table_matches_the_spec_for_every_route():
    """The role -> permission mapping grants each role exactly the routes the spec gives it.

    Catches an admin route declared with a user permission, a write permission handed to
    ``admin_readonly``, or a permission the admin role is not granted.
    """
    mismatches = []
    for route in _protected(api_routes(_app())):
        for role in Role:
            granted = bool(route.permissions) and route.permissions <= ROLE_PERMISSIONS[role]
            if granted != _layout_allows(role, route):
                verdict = "grants" if granted else "refuses"
                mismatches.append(f"{role.value}: {route.method} {route.path} {sorted(route.permissions)} {verdict}")
    assert not mismatches, "\n".join(mismatches)


async def _check(c: httpx.AsyncClient, route: ApiRoute, expected: int | None) -> str | None:
    """``expected`` 401/403: refused by the permission check; None: let through it."""
    # A JSON list is a body no route accepts, so an admitted change stops at validation (or at
    # a missing id) and the matrix changes nothing.
    kwargs = {} if route.method in SAFE else {"json": []}
    response = await c.request(route.method, route.url(), **kwargs)
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("error") if isinstance(body, dict) else None
    if expected is None:
        ok = response.status_code not in (401, 403) and response.status_code != 500
    else:
        ok = response.status_code == expected and code == ("unauthorized" if expected == 401 else "forbidden")
    if ok:
        return None
    wanted = "let through" if expected is None else str(expected)
    return f"{route.method} {route.path}: wanted {wanted}, got {response.status_code} {response.text[:200]}"


@pytest.mark.asyncio
async def test_route_by_role_matrix(make_app):
    from litemaas.litellm_admin import LiteLLMAdminClient
    from litemaas.litellm_admin.dependencies import get_optional_litellm_admin

    # A configured LiteLLM client whose proxy is down: a denied request that reached any
    # handler would come back 503 instead of 401/403.
    dead_proxy = LiteLLMAdminClient(f"http://127.0.0.1:{free_port()}", "sk-unused-" + "x" * 24, retries=0)
    async with make_app(overrides={get_optional_litellm_admin: lambda: dead_proxy}) as app:
        try:
            await _matrix(app)
        finally:
            await dead_proxy.aclose()


async def _matrix(app: FastAPI) -> None:
    routes = _protected(api_routes(app))
    assert not _undeclared(routes), _undeclared(routes)
    sessions: dict[Role, httpx.AsyncClient] = {}
    for role in Role:
        sessions[role] = await dev_login(asgi_client(app), unique(role.value), role)
    callers: list[tuple[str, Role | None, httpx.AsyncClient]] = [("anonymous", None, asgi_client(app))]
    callers += [(f"{role.value} session", role, c) for role, c in sessions.items()]
    for role in (Role.ADMIN_READONLY, Role.ADMIN):
        created = await sessions[Role.ADMIN].post(
            "/api/v1/admin/tokens", json={"name": f"matrix-{role.value}", "role": role.value}
        )
        assert created.status_code == 201, created.text
        token = asgi_client(app, headers={"Authorization": f"Bearer {created.json()['token']}"})
        callers.append((f"{role.value} token", role, token))
    failures: list[str] = []
    try:
        for route in routes:
            for name, role, c in callers:
                if role is None:
                    expected: int | None = 401
                else:
                    # Both sources must agree (test_role_permission_table_matches_the_spec_...);
                    # the layout is the expectation, so a wrong table shows up here as well.
                    expected = None if _layout_allows(role, route) else 403
                failure = await _check(c, route, expected)
                if failure:
                    failures.append(f"{name}: {failure}")
    finally:
        for _, _, c in callers:
            await c.aclose()
    assert not failures, "\n".join(failures)
    # Each role was refused something and let through something: the matrix tested both sides.
    for role in (Role.USER, Role.ADMIN_READONLY):
        assert any(not _layout_allows(role, r) for r in routes), role
    assert all(_layout_allows(Role.ADMIN, r) for r in routes)


# --- portal pages ------------------------------------------------------------------------


def page_routes(app: FastAPI) -> list[ApiRoute]:
    """Every portal page (a ``PageRoute``), as the app serves it."""
    routes = []
    for ctx in iter_route_contexts(app.routes):
        if not isinstance(ctx.original_route, PageRoute):
            continue
        dependant = getattr(ctx, "dependant", None)
        permissions = frozenset(_permissions(dependant)) if dependant is not None else frozenset()
        for method in sorted(ctx.methods or ()):
            if method != "HEAD":
                routes.append(ApiRoute(method, ctx.path or "", permissions))
    return routes


def _page_layout_allows(role: Role, route: ApiRoute) -> bool:
    """Pages follow the API's layout: ``/admin`` pages for admins (read-only ones: safe methods), the rest for all."""
    admin_area = route.path == "/admin" or route.path.startswith("/admin/")
    if role is Role.ADMIN:
        return True
    if role is Role.ADMIN_READONLY:
        return not admin_area or route.method in SAFE
    return not admin_area


def test_every_page_declares_a_permission():
    routes = page_routes(_app())
    assert {("GET", "/"), ("GET", "/login"), ("GET", "/catalog")} <= {(r.method, r.path) for r in routes}
    assert not _undeclared(routes), _undeclared(routes)
    public = {r.path for r in routes if r.permissions == {Permission.PUBLIC}}
    assert public == {"/", "/login"}, public


def test_role_permission_table_matches_the_layout_for_every_page():
    mismatches = []
    for route in _protected(page_routes(_app())):
        for role in Role:
            granted = route.permissions <= ROLE_PERMISSIONS[role]
            if granted != _page_layout_allows(role, route):
                mismatches.append(f"{role.value}: {route.method} {route.path} {sorted(route.permissions)}")
    assert not mismatches, "\n".join(mismatches)


async def _check_page(c: httpx.AsyncClient, route: ApiRoute, expected: int | None) -> str | None:
    """``expected`` 303: sent to the login page; 403: the rendered 403 page; None: let through."""
    kwargs = {} if route.method in SAFE else {"data": {}}
    response = await c.request(route.method, route.url(), **kwargs)
    if expected == 303:
        ok = response.status_code == 303 and response.headers["location"].startswith("/login")
    elif expected == 403:
        ok = response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    else:
        # Let through: the handler ran. Without LiteLLM (these apps have none) a page that needs it
        # answers 503; a form that succeeds redirects (post/redirect/get), never to the login page.
        redirect = response.headers.get("location", "")
        ok = response.status_code not in (401, 403, 500) and not (
            response.status_code == 303 and redirect.startswith("/login")
        )
    if response.headers.get("content-type", "").startswith("text/html"):
        ok = ok and "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")
    if ok:
        return None
    wanted = "let through" if expected is None else str(expected)
    return f"{route.method} {route.path}: wanted {wanted}, got {response.status_code} {response.text[:200]}"


@pytest.mark.asyncio
async def test_page_by_role_matrix(make_app):
    """Anonymous callers go to the login page, a role without the permission gets the 403 page."""
    async with make_app() as app:
        routes = _protected(page_routes(app))
        assert routes
        callers: list[tuple[str, Role | None, httpx.AsyncClient]] = [("anonymous", None, asgi_client(app))]
        for role in Role:
            callers.append((f"{role.value} session", role, await dev_login(asgi_client(app), unique(role.value), role)))
        failures = []
        try:
            for route in routes:
                for name, role, c in callers:
                    if role is None:
                        expected: int | None = 303
                    else:
                        expected = None if _page_layout_allows(role, route) else 403
                    failure = await _check_page(c, route, expected)
                    if failure:
                        failures.append(f"{name}: {failure}")
        finally:
            for _, _, c in callers:
                await c.aclose()
        assert not failures, "\n".join(failures)
