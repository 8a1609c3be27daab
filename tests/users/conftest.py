"""Here ``app`` (and so ``client``, ``login``, ``admin_client`` ...) is the backend wired to the real LiteLLM proxy."""

from tests.fixtures.stack import stack_app as app  # noqa: F401
