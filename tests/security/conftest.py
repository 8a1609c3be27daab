"""Security suites: backend fixtures wired to the real LiteLLM proxy (tests/e2e/fixtures.py), and the local IdP."""

from tests.backend.conftest import idp, idp_settings  # noqa: F401
from tests.e2e.fixtures import *  # noqa: F403  shared fixtures; a pytest plugin module replaces this (issue 14, item 8)
