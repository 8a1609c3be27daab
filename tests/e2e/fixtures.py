"""What each domain test folder's conftest loads: backend fixtures wired to the real LiteLLM proxy.

The backend suite's fixtures (fresh migrated database, dev-login clients) plus the overrides in
``support.py`` that point the app at the session's real proxy. Kept out of ``tests/conftest.py``
so ``tests/backend`` keeps its own app (with an unreachable LiteLLM) for the permission matrix.
"""

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
from tests.e2e.support import *  # noqa: F403  shared fixtures; a pytest plugin module replaces this (issue 14, item 8)
