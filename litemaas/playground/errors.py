"""Errors of the playground (HTTP status and JSON ``error`` code in each class).

The page shows its own translated sentence for each code; ``detail`` is for logs and scripts.
"""

from __future__ import annotations

from litemaas.errors import BadRequest, Forbidden, TooManyRequests, UpstreamRejected


class ModelNotAvailable(Forbidden):
    code = "playground_model_not_available"

    def __init__(self, model: str) -> None:
        super().__init__(f"{model} is not one of your subscribed chat models")


class InvalidChat(BadRequest):
    code = "playground_invalid_request"


class PlaygroundRateLimited(TooManyRequests):
    code = "playground_rate_limited"

    def __init__(self, rpm_limit: int, tpm_limit: int) -> None:
        super().__init__(
            f"playground limit reached ({rpm_limit} requests or {tpm_limit} tokens per minute); try again shortly"
        )
        self.rpm_limit = rpm_limit
        self.tpm_limit = tpm_limit


class ModelRefused(UpstreamRejected):
    """The proxy or the model refused the call (too long a conversation, a budget reached, ...)."""

    code = "playground_model_refused"
