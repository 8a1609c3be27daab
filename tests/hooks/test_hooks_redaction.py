"""The failure hook that keeps secrets and key hashes out of error bodies (pure parts).

End to end, through the real proxy: tests/api_keys/test_proxy_boundary.py
::test_error_bodies_never_carry_a_key_its_hash_or_the_master_key.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

from fastapi import HTTPException

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "hooks"))

from litellm.proxy._types import ProxyException
from litemaas_hooks.redaction import HASH_MASK, SECRET_MASK, error_redaction, scrub

SECRET = "sk-" + "Ab3_-x" * 7
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()


def test_scrub_masks_secrets_and_hashes_but_keeps_litellm_abbreviations() -> None:
    text = f"Received API Key = sk-...x9Q1, Key Hash (Token) ={DIGEST}. master={SECRET}"
    cleaned = scrub(text)
    assert SECRET not in cleaned and DIGEST not in cleaned
    assert "sk-...x9Q1" in cleaned and HASH_MASK in cleaned and SECRET_MASK in cleaned
    assert scrub({"error": [text], "n": 1}) == {"error": [cleaned], "n": 1}
    # Shorter hex runs (request ids, model hashes) stay as they are.
    assert scrub("id " + "a" * 32) == "id " + "a" * 32


def test_failure_hook_rewrites_the_exception_in_place() -> None:
    auth = ProxyException(message=f"Invalid token, Key Hash (Token) ={DIGEST}", type="auth_error", param=None, code=401)
    limited = HTTPException(status_code=429, detail=f"Rate limit exceeded for api_key: {DIGEST}.")
    for exc in (auth, limited):
        result = asyncio.run(
            error_redaction.async_post_call_failure_hook(
                request_data={}, original_exception=exc, user_api_key_dict=None
            )
        )
        assert result is None  # the same exception goes out, with its status and headers
    assert DIGEST not in auth.message and auth.code == "401"
    assert DIGEST not in str(limited.detail) and limited.status_code == 429
