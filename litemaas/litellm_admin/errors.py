"""Exceptions raised by the LiteLLM admin client.

``LiteLLMError`` → ``LiteLLMUnavailable`` (network, timeout, 5xx: the proxy could not answer)
| ``LiteLLMRejected`` (a 4xx answer) → ``LiteLLMNotFound`` (the object does not exist there).
Services map them to 503 / 4xx; nothing above ``litellm_admin`` sees httpx.
"""

from __future__ import annotations


class LiteLLMError(Exception):
    """Any failure of a LiteLLM admin call."""

    def __init__(self, message: str, *, status: int | None = None, operation: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.operation = operation


class LiteLLMUnavailable(LiteLLMError):
    """LiteLLM could not be reached, timed out or answered with a server error."""


class LiteLLMRejected(LiteLLMError):
    """LiteLLM answered and refused the request (4xx)."""


class LiteLLMNotFound(LiteLLMRejected):
    """The key, user or model does not exist in LiteLLM."""
