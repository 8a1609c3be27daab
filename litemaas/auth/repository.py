"""SQL for authentication state: revoked browser sessions and pending OAuth/OIDC logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.models.oauth_state import OAuthState
from litemaas.models.revoked_session import RevokedSession


async def revoke_session(session: AsyncSession, *, session_id: str, until: datetime) -> None:
    await session.execute(
        insert(RevokedSession)
        .values(session_id=session_id, expires_at=until)
        .on_conflict_do_nothing(index_elements=["session_id"])
    )


async def prune_revoked_sessions(session: AsyncSession, *, before: datetime) -> None:
    await session.execute(delete(RevokedSession).where(RevokedSession.expires_at < before))


async def is_session_revoked(session: AsyncSession, session_id: str) -> bool:
    found = await session.scalar(select(RevokedSession.session_id).where(RevokedSession.session_id == session_id))
    return found is not None


async def prune_oauth_states(session: AsyncSession, *, before: datetime) -> None:
    await session.execute(delete(OAuthState).where(OAuthState.expires_at < before))


async def add_oauth_state(session: AsyncSession, state: OAuthState) -> OAuthState:
    session.add(state)
    await session.flush()
    return state


async def take_oauth_state(session: AsyncSession, *, state: str, provider: str, now: datetime) -> OAuthState | None:
    """The unexpired pending login for ``state``, deleted in the same statement (single use)."""
    result = await session.execute(
        delete(OAuthState)
        .where(OAuthState.state == state, OAuthState.provider == provider, OAuthState.expires_at > now)
        .returning(OAuthState)
    )
    return result.scalar_one_or_none()
