"""Backend fixtures wired to the real LiteLLM proxy (tests/e2e/fixtures.py)."""

from tests.e2e.fixtures import *  # noqa: F403  shared fixtures; a pytest plugin module replaces this (issue 14, item 8)
