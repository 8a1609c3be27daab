"""Security suites: here ``app`` is the backend wired to the real LiteLLM proxy; the local IdP is a shared fixture."""

from tests.fixtures.stack import stack_app as app  # noqa: F401
