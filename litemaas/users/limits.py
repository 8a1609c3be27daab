"""Per-user limits set by an admin: budget, TPM and RPM (LiteLLM enforces them on the user) and a key cap.

Changes hold the user's key lock (``access``), as reconcile does when it compares them with
LiteLLM, so a change in flight is never taken for drift.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.access import service as access
from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.litellm_admin import LiteLLMAdminClient, LiteLLMError, UserLimits
from litemaas.litellm_admin.durations import is_duration
from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit
from litemaas.upstream import upstream_error
from litemaas.users import repository
from litemaas.users.errors import InvalidUserLimit, UserNotFound
from litemaas.users.schemas import UserLimitsIn, UserLimitsOut

_STORED = tuple(name for name in UserLimitsIn.model_fields)


async def _user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repository.get(session, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    return user


async def key_cap_override(session: AsyncSession, user_id: uuid.UUID) -> int | None:
    """The user's own active-key cap, when an admin set one (else the platform's applies)."""
    row = await repository.user_limit(session, user_id)
    return row.max_active_keys if row is not None else None


async def get_user_limits(session: AsyncSession, litellm: LiteLLMAdminClient, user_id: uuid.UUID) -> UserLimitsOut:
    """The stored limits, with LiteLLM's live spend for the user (None when LiteLLM cannot say)."""
    await _user(session, user_id)
    row = await repository.user_limit(session, user_id)
    spend: float | None = None
    try:
        spend = (await litellm.user_info(str(user_id))).spend
    except LiteLLMError:
        spend = None
    stored = {name: getattr(row, name) for name in _STORED} if row is not None else {}
    return UserLimitsOut(user_id=user_id, spend=spend, **stored)


def _check(data: UserLimitsIn) -> None:
    for name in ("tpm_limit", "rpm_limit"):
        value = getattr(data, name)
        if value is not None and value < 1:
            raise InvalidUserLimit(f"{name} must be a whole number of at least 1", field=name)
    if data.max_budget is not None and (data.max_budget < 0 or data.max_budget != data.max_budget):
        raise InvalidUserLimit("max_budget must be a finite amount of at least 0", field="max_budget")
    if data.budget_duration is not None and not is_duration(data.budget_duration):
        raise InvalidUserLimit(f"invalid duration {data.budget_duration!r} (e.g. 30d)", field="budget_duration")


async def set_user_limits(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    data: UserLimitsIn,
) -> UserLimitsOut:
    """Store the limits, then push budget/TPM/RPM to the user in LiteLLM (its failure rolls ours back)."""
    owner = await _user(session, user_id)
    _check(data)
    await access.lock_user(session, user_id)
    row = await repository.user_limit(session, user_id)
    before = None
    if row is None:
        row = UserLimit(user_id=user_id)
        repository.add(session, row)
    else:
        before = {name: getattr(row, name) for name in _STORED}
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    row.updated_by_id = actor.user_id
    await session.flush()
    await access.ensure_litellm_user(session, litellm, owner)
    try:
        await litellm.update_user_limits(
            str(user_id), UserLimits(**{name: getattr(data, name) for name in UserLimits.model_fields})
        )
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    await audit.record(
        session,
        actor=actor,
        action="user_limits.update",
        target_type="user",
        target_id=user_id,
        before=before,
        after=data.model_dump(),
    )
    return UserLimitsOut(user_id=user_id, **data.model_dump())
