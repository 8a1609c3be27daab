"""Keep secrets and key hashes out of the error bodies the proxy sends to key holders.

LiteLLM 1.106.12 writes the caller's key hash into some client-facing errors: the 401 for an
unknown, deleted or revoked key ("Key Hash (Token) =<sha256>") and the 429 of its rate limiter
("Rate limit exceeded for api_key: <sha256>"). The hash is LiteLLM's id for the key in every
admin call, so it must not leave the proxy. ``async_post_call_failure_hook`` is LiteLLM's
documented point to change an error before it is sent (``ProxyLogging.post_call_failure_hook``
runs it for authentication failures and for failed model calls, the hooks' routes included);
this hook rewrites the message of that very exception in place, so its status, type and
headers (``retry-after``) stay as LiteLLM set them.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger

log: Final = logging.getLogger("litemaas_hooks.redaction")

# A full secret (LiteLLM's own abbreviations such as "sk-...ab12" do not match) and a sha256 hex.
_SECRET: Final = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
_HASH: Final = re.compile(r"(?<![0-9A-Fa-f])[0-9a-fA-F]{64}(?![0-9A-Fa-f])")
SECRET_MASK: Final = "sk-[redacted]"
HASH_MASK: Final = "[key hash redacted]"


def scrub(value: Any) -> Any:
    """``value`` with every secret and key hash masked (strings, and strings inside dicts/lists)."""
    if isinstance(value, str):
        return _HASH.sub(HASH_MASK, _SECRET.sub(SECRET_MASK, value))
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def scrub_exception(exc: BaseException) -> None:
    """Mask secrets in the fields LiteLLM renders into the response: ``message`` and ``detail``."""
    for name in ("message", "detail"):
        current = getattr(exc, name, None)
        if current is None:
            continue
        cleaned = scrub(current)
        if cleaned != current:
            setattr(exc, name, cleaned)
    if exc.args and any(isinstance(arg, str) for arg in exc.args):
        exc.args = tuple(scrub(arg) for arg in exc.args)


class ErrorRedaction(CustomLogger):
    """Failure hook: masks secrets and key hashes in the error about to be sent; never raises."""

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> None:
        try:
            scrub_exception(original_exception)
        except Exception:  # noqa: BLE001 - a failure hook must not change the outcome
            log.warning("litemaas_hooks.redaction.failed type=%s", type(original_exception).__name__)


error_redaction: Final = ErrorRedaction()
