"""App plumbing: health probes, error envelope, request ids, OpenAPI, settings, migrations."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import SecretStr, ValidationError
from sqlalchemy import create_engine, inspect

from litemaas.config import Settings
from tests.support.backend import asgi_client, free_port


async def test_live_needs_nothing(client):
    response = await client.get("/api/v1/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_reports_a_missing_proxy(client):
    response = await client.get("/api/v1/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "proxy": "unavailable"}}


@pytest.fixture
def fake_proxy():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/health/liveliness"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b'"I\'m alive!"')

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_ready_when_database_and_proxy_answer(make_app, settings, fake_proxy):
    async with make_app(settings.model_copy(update={"proxy_url": fake_proxy})) as app, asgi_client(app) as c:
        response = await c.get("/api/v1/health/ready")
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {"database": "ok", "proxy": "ok"}


async def test_request_id_is_echoed_or_made(client):
    mine = await client.get("/api/v1/health/live", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    hostile = await client.get("/api/v1/health/live", headers={"X-Request-ID": "x" * 200 + "\n"})
    assert hostile.headers["x-request-id"] != "x" * 200 and len(hostile.headers["x-request-id"]) == 32


async def test_error_envelope(client, admin_client):
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    invalid = await admin_client.put("/api/v1/admin/users/not-a-uuid/role", json={"role": "admin"})
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["error"] == "validation_error" and body["field"] == "user_id"
    unknown = await admin_client.get("/api/v1/admin/users/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and unknown.json() == {"error": "not_found", "detail": "user not found"}


async def test_openapi_documents_the_api(client):
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/admin/audit" in spec["paths"]
    assert "/api/v1/admin/tokens" in spec["paths"]


def test_models_and_migrations_agree(backend_database_url):
    """`alembic upgrade head` produces exactly the tables the models describe."""
    import litemaas.models
    from litemaas.models.user import MIGRATION_ONLY_INDEXES

    def include(obj, name, type_, reflected, compare_to):
        return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)

    engine = create_engine(backend_database_url.replace("+asyncpg", "+psycopg"))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True, "include_object": include}
            )
            diff = compare_metadata(context, litemaas.models.Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ (write a migration): {diff}"
    # The exception is real: the index exists after the migrations.
    engine = create_engine(backend_database_url.replace("+asyncpg", "+psycopg"))
    try:
        with engine.connect() as connection:
            names = {i["name"] for i in inspect(connection).get_indexes("users")}
    finally:
        engine.dispose()
    assert names >= MIGRATION_ONLY_INDEXES


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dev_login_enabled": True}, "DEV_LOGIN_ENABLED must be false"),
        ({"session_secret": None}, "SESSION_SECRET is required"),
        ({"session_secret": SecretStr("changeme-changeme-changeme-changeme")}, "SESSION_SECRET is a placeholder"),
        ({"session_secret": SecretStr("short")}, "SESSION_SECRET is a placeholder"),
        ({"master_key": SecretStr("sk-1234")}, "MASTER_KEY is a placeholder"),
        ({"cookie_secure": False}, "COOKIE_SECURE must be true"),
    ],
)
def test_production_refuses_unsafe_settings(overrides, message):
    base = {
        "environment": "production",
        "session_secret": SecretStr("Hq2v9x0LrT5mWz8kPaN3bYc6dEf1gJ4s7uV"),
        "master_key": SecretStr("sk-Qm2x9LrT5wZ8kPaN3bYc6dEf1gJ4s7uV0"),
    }
    assert Settings(_env_file=None, **base).environment == "production"
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **{**base, **overrides})


def test_token_expiry_settings_are_consistent():
    assert Settings(_env_file=None, admin_token_default_days=30, admin_token_max_days=30).admin_token_default_days == 30
    with pytest.raises(ValidationError, match="ADMIN_TOKEN_DEFAULT_DAYS"):
        Settings(_env_file=None, admin_token_default_days=400, admin_token_max_days=365)
    with pytest.raises(ValidationError):
        Settings(_env_file=None, admin_token_default_days=0)


async def test_the_backend_names_a_missing_database_url_at_start(settings):
    from litemaas.app import create_app
    from litemaas.config import MissingSettings

    app = create_app(settings.model_copy(update={"database_url": None}), configure_logs=False)
    with pytest.raises(MissingSettings, match=r"LITEMAAS_DATABASE_URL \(LiteMaaS database"):
        async with app.router.lifespan_context(app):
            pass


async def test_process_state_is_read_only_after_the_lifespan_built_it(settings):
    from litemaas.app import create_app
    from litemaas.auth.dependencies import IDENTITY_PROVIDERS, SESSIONS
    from litemaas.auth.sessions import SessionManager
    from litemaas.dependencies import SETTINGS

    app = create_app(settings, configure_logs=False)
    assert SETTINGS.get(app) is settings
    with pytest.raises(RuntimeError, match="app.state.sessions is not set: the application's lifespan has not run"):
        SESSIONS.get(app)
    async with app.router.lifespan_context(app):
        assert isinstance(SESSIONS.get(app), SessionManager)
        assert dict(IDENTITY_PROVIDERS.get(app)) == {}


async def test_a_dependency_override_replaces_what_the_lifespan_built(make_app, settings):
    from litemaas.dependencies import get_app_settings

    without_dev_login = settings.model_copy(update={"dev_login_enabled": False})
    async with make_app() as app, asgi_client(app) as c:
        assert [p["name"] for p in (await c.get("/api/v1/auth/providers")).json()] == ["dev"]
        app.dependency_overrides[get_app_settings] = lambda: without_dev_login
        assert (await c.get("/api/v1/auth/providers")).json() == []
        assert (await c.post("/auth/dev", data={"username": "someone"})).status_code == 404
