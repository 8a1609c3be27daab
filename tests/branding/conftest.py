"""Backend fixtures without a LiteLLM proxy (branding and banners never call LiteLLM), and the backend in its own process."""

from tests.backend.conftest import (  # noqa: F401
    admin_client,
    app,
    backend_database_url,
    backend_process,
    client,
    idp,
    login,
    make_app,
    readonly_client,
    redis_prefix,
    session_secret,
    settings,
    user_client,
)
