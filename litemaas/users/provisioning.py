"""The hook that creates a user's LiteLLM counterpart at first login (``/user/new``).

The app lifespan builds one ``UserProvisioner`` around the LiteLLM admin client; routes get it
through ``users.dependencies.Provisioner``.
"""

from __future__ import annotations

from typing import Protocol

from litemaas.models.user import User


class UserProvisioner(Protocol):
    """Makes sure the user exists wherever LiteMaaS mirrors users (idempotent)."""

    async def ensure_user(self, user: User) -> None: ...


class LiteLLMUserProvisioner:
    """Creates the LiteLLM user whose ``user_id`` is our user id (as a string)."""

    def __init__(self, client: object) -> None:
        # A litemaas.litellm_admin.LiteLLMAdminClient; typed loosely so auth does not
        # import the LiteLLM boundary at module load.
        self._client = client

    async def ensure_user(self, user: User) -> None:
        await self._client.ensure_user(  # type: ignore[attr-defined]
            str(user.id), email=user.email, alias=user.username
        )
