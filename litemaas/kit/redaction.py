"""Scrubbing secrets out of anything that is stored or logged (audit rows, log lines)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Deeper structures are redacted whole rather than walked (no recursion bomb).
_MAX_DEPTH = 20

REDACTED = "[REDACTED]"

# A field is secret when its last name part is one of these ("api_key", "client_secret",
# "access_token", "key"); "key_alias", "token_hash", "max_tokens" or "key_last4" are not.
_SECRET_FIELD = re.compile(
    r"(^|[_\-.])(key|token|secret|password|passwd|passphrase|authorization|cookie|credentials?|"
    r"api[_\-]?key|private[_\-]?key|set[_\-]cookie|csrf|id[_\-]token)$",
    re.IGNORECASE,
)
# Names that are secrets only on their own (an OAuth "code", not an "error_code").
_SECRET_EXACT = {"code", "code_verifier", "session", "state", "nonce"}
_SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}"  # LiteLLM/OpenAI style keys
    r"|lmt_[A-Za-z0-9_\-]{6,}"  # our admin tokens
    r"|eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"  # JWTs (sessions, id tokens)
    r"|(?i:bearer|basic)\s+[A-Za-z0-9_\-.=+/]{6,}"  # authorization header values
    r"|sha256~[A-Za-z0-9_\-]{6,})"  # OpenShift OAuth access tokens
)


def is_secret_field(name: str) -> bool:
    """Whether a field called ``name`` holds a secret (``api_key`` yes, ``key_alias`` no)."""
    return name.lower() in _SECRET_EXACT or bool(_SECRET_FIELD.search(name))


def redact_text(value: str) -> str:
    """``value`` with every secret-looking substring (keys, tokens, JWTs) replaced."""
    return _SECRET_VALUE.sub(REDACTED, value)


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with secret fields and secret-looking strings replaced."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if is_secret_field(str(k)) and v not in (None, "") else redact(v, _depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(v, _depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return REDACTED
    return value
