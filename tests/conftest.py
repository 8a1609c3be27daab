"""The suite's shared fixtures, registered once for every folder (pytest plugin modules).

- ``tests/fixtures/backend.py``: the session's migrated database, settings, the app, dev-login
  clients, the local identity provider, a second backend process.
- ``tests/fixtures/stack.py``: the session's real LiteLLM proxy and simulator, the cuttable admin
  client, ``stack_app`` (the backend wired to that proxy).
- ``tests/fixtures/web.py``: the portal served over HTTP (with and without the proxy), one headless
  Chromium for the whole suite, logged-in browser contexts.

Plain helpers live in ``tests/support/`` (``services``, ``backend``, ``stack``). Session-scoped
fixtures are defined once here, so every folder shares one database, one proxy, one IdP.
A folder's conftest only adds what is its own (and may make ``app`` the ``stack_app``).
"""

from tests.support import services  # noqa: F401 - sets LITELLM_LOCAL_MODEL_COST_MAP before LiteLLM is imported

pytest_plugins = ["tests.fixtures.backend", "tests.fixtures.stack", "tests.fixtures.web"]
