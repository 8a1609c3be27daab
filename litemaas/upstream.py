"""The HTTP error for a failed LiteLLM admin call (services raise it ``from`` the LiteLLM error)."""

from __future__ import annotations

from litemaas.errors import LiteMaaSError, UpstreamRejected, UpstreamUnavailable
from litemaas.litellm_admin.errors import LiteLLMError, LiteLLMUnavailable


def upstream_error(exc: LiteLLMError) -> LiteMaaSError:
    """503 when LiteLLM could not answer (nothing changed, try again), else 502 (it refused)."""
    if isinstance(exc, LiteLLMUnavailable):
        return UpstreamUnavailable("LiteLLM is unavailable; nothing was changed, try again shortly")
    return UpstreamRejected(f"LiteLLM refused the change: {exc.message}")
