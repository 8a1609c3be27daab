"""Pending OAuth/OIDC logins in the database: any replica can finish any login, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.auth import repository
from litemaas.kit.crypto import random_token
from litemaas.kit.time import utcnow
from litemaas.models.oauth_state import OAuthState


async def create_state(
    session: AsyncSession,
    *,
    provider: str,
    ttl_seconds: int,
    return_to: str,
    nonce: str | None = None,
    code_verifier: str | None = None,
) -> OAuthState:
    now = utcnow()
    # Expired attempts are swept here so the table stays small without a job.
    await repository.prune_oauth_states(session, before=now)
    state = OAuthState(
        state=random_token(32),
        provider=provider,
        nonce=nonce,
        code_verifier=code_verifier,
        return_to=return_to,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    return await repository.add_oauth_state(session, state)


async def consume_state(session: AsyncSession, *, state: str, provider: str) -> OAuthState | None:
    """The pending login for ``state``, deleted in the same statement (single use)."""
    return await repository.take_oauth_state(session, state=state, provider=provider, now=utcnow())
