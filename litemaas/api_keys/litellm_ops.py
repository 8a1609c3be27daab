"""Key generation at LiteLLM with its compensations: nothing of a failed create is left behind.

A LiteLLM call that fails after LiteLLM may have acted (the answer was lost, or a later step
failed) is undone here where possible; what cannot be undone carries our ids in its metadata
and is removed by reconcile.
"""

from __future__ import annotations

import uuid

import structlog

from litemaas.litellm_admin import (
    MANAGED_BY_VALUE,
    META_MANAGED_BY,
    GeneratedKey,
    GenerateKeyRequest,
    LiteLLMAdminClient,
    LiteLLMError,
    LiteLLMRejected,
    LiteLLMUnavailable,
    token_hash,
)
from litemaas.upstream import upstream_error

log = structlog.get_logger("litemaas.api_keys")


async def generate(litellm: LiteLLMAdminClient, request: GenerateKeyRequest, key_id: uuid.UUID) -> GeneratedKey:
    """``/key/generate`` for our key ``key_id``; on failure nothing of it stays in LiteLLM (or reconcile removes it)."""
    key_hash = token_hash(request.key)
    try:
        return await litellm.generate_key(request)
    except LiteLLMUnavailable as exc:
        # The key may exist if only the answer was lost: remove it so nothing is left behind.
        await best_effort_delete(litellm, key_hash)
        raise upstream_error(exc) from exc
    except LiteLLMRejected as exc:
        alias_taken = bool(request.key_alias) and "alias" in exc.message.lower() and "exist" in exc.message.lower()
        # A leftover of ours (e.g. from a crashed create) holds the alias: clear it and retry once.
        try:
            cleared = alias_taken and await clear_orphan_alias(litellm, request.user_id, str(request.key_alias), key_id)
        except LiteLLMUnavailable as unavailable:
            # LiteLLM went away while clearing: "try again" is the answer, not "refused".
            raise upstream_error(unavailable) from unavailable
        if cleared:
            try:
                return await litellm.generate_key(request)
            except LiteLLMError as retry_exc:
                await best_effort_delete(litellm, key_hash)
                raise upstream_error(retry_exc) from retry_exc
        raise upstream_error(exc) from exc


async def clear_orphan_alias(litellm: LiteLLMAdminClient, user_id: str, alias: str, key_id: uuid.UUID) -> bool:
    """Delete our own leftover keys holding ``alias`` for this user; True when the alias is free again."""
    try:
        holders = [k for k in await litellm.list_user_keys(user_id) if k.key_alias == alias]
    except LiteLLMRejected:
        return False
    # Only keys tagged as ours and for this very user; the caller holds the user's key lock,
    # and this alias is free among the user's active keys (our unique index said so).
    ours = [k for k in holders if k.metadata.get(META_MANAGED_BY) == MANAGED_BY_VALUE and k.token]
    if not ours or len(ours) != len(holders):
        return False
    try:
        await litellm.delete_keys([k.token for k in ours if k.token])
    except LiteLLMRejected:
        return False
    log.warning("api_key.create.orphan_alias_cleared", key_id=str(key_id), count=len(ours))
    return True


async def best_effort_delete(litellm: LiteLLMAdminClient, key_hash: str) -> None:
    """Delete a key we may have created; a failure is left to reconcile."""
    try:
        await litellm.delete_key(key_hash)
    except LiteLLMError:
        log.warning("api_key.compensation.failed", reason="reconcile will remove the leftover key")
