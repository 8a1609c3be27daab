"""Backend fixtures (fresh migrated database, dev-login clients) wired to the real LiteLLM proxy."""

import sys
from pathlib import Path

# tests/backend/conftest.py imports its helpers as a top-level module.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from tests.backend.conftest import (  # noqa: F401
    admin_client,
    backend_database_url,
    client,
    login,
    make_app,
    readonly_client,
    redis_prefix,
    session_secret,
    settings,
    user_client,
)
from tests.e2e.support import *
