"""Backend fixtures wired to the real LiteLLM proxy (tests/e2e/fixtures.py)."""

from tests.e2e.fixtures import *
