"""Per-user limits set by an admin: budget, TPM and RPM (LiteLLM enforces them on the user) and a key cap.

Changes hold the user's key lock (``access``), as reconcile does when it compares them with
LiteLLM, so a change in flight is never taken for drift.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.access import service as access
from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMAdminClient, LiteLLMError, LiteLLMUnavailable, UserLimits
from litemaas.litellm_admin.durations import is_duration
from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit
from litemaas.upstream import upstream_error
from litemaas.users import repository
from litemaas.users.errors import ConfirmationRequired, InvalidUserLimit, UserNotFound
from litemaas.users.schemas import (
    ApplyDefaultsOut,
    ApplyResultOut,
    UserDefaults,
    UserLimitsIn,
    UserLimitsOut,
)

_STORED = tuple(name for name in UserLimitsIn.model_fields)
_LITELLM_FIELDS = tuple(UserLimits.model_fields)
# The admin setting holding the defaults for new users.
USER_DEFAULTS = "user_defaults"
# Users handled per round of the bulk apply (their LiteLLM calls run concurrently, a few at a time).
_APPLY_BATCH = 100
_APPLY_CONCURRENCY = 8

log = structlog.get_logger("litemaas.users.limits")


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


# --------------------------------------------------------------------------- defaults for new users


async def user_defaults(session: AsyncSession) -> UserDefaults:
    """The stored defaults; a stored value today's rules refuse falls back to the built-in default."""
    value = await repository.setting(session, USER_DEFAULTS)
    if not value:
        return UserDefaults()
    document = dict(value)
    for _ in range(len(UserDefaults.model_fields) + 1):
        try:
            return UserDefaults.model_validate(document)
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error.get("loc")}
            log.warning("users.defaults.invalid_stored", fields=sorted(bad))
            if not bad:
                break
            for name in bad:
                document.pop(name, None)
    return UserDefaults()


async def set_user_defaults(session: AsyncSession, *, actor: Actor, defaults: UserDefaults) -> UserDefaults:
    """Store new defaults (audited). Existing users keep theirs: see ``apply_defaults``."""
    before = await user_defaults(session)
    value = defaults.model_dump(mode="json")
    await repository.put_setting(session, USER_DEFAULTS, value, updated_by=actor.user_id)
    await audit.record(
        session,
        actor=actor,
        action="settings.user_defaults.update",
        target_type="settings",
        target_id=USER_DEFAULTS,
        before=before.model_dump(mode="json"),
        after=value,
    )
    return defaults


async def give_new_user_defaults(session: AsyncSession, user_id: uuid.UUID) -> None:
    """At first login: the user's limits row from the defaults (LiteLLM's user is created with it)."""
    defaults = await user_defaults(session)
    values = defaults.model_dump()
    if all(value is None for value in values.values()):
        return
    if await repository.user_limit(session, user_id) is not None:
        return
    repository.add(session, UserLimit(user_id=user_id, **values))
    await session.flush()


def _stored(row: UserLimit | None) -> dict[str, Any] | None:
    return {name: getattr(row, name) for name in _STORED} if row is not None else None


async def apply_defaults(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    confirm: bool,
    reason: str | None = None,
) -> ApplyDefaultsOut:
    """Give every active user the current defaults: LiteLLM first, then our row, user by user.

    Idempotent (a second run reports every user ``unchanged``). LiteLLM unreachable at the start
    is a 503 with nothing changed; if it stops answering part way, the users already handled
    keep the defaults (in LiteLLM and here alike), the one whose call failed keeps its old
    limits in both, and the rest are not tried (``completed`` false): run it again.
    """
    if not confirm:
        raise ConfirmationRequired("confirm: set it to true to change the limits of every active user", field="confirm")
    if not await litellm.ping():
        raise upstream_error(LiteLLMUnavailable("LiteLLM is not reachable", operation="user.update"))
    defaults = await user_defaults(session)
    wanted = defaults.model_dump()
    pushed = UserLimits(**{name: wanted[name] for name in _LITELLM_FIELDS})
    results: list[ApplyResultOut] = []
    completed = True
    after: uuid.UUID | None = None
    semaphore = asyncio.Semaphore(_APPLY_CONCURRENCY)
    while completed:
        users = await repository.active_users_after(session, after, _APPLY_BATCH)
        if not users:
            break
        after = users[-1].id
        await access.lock_users(session, [u.id for u in users])
        rows = await repository.user_limits_of(session, [u.id for u in users])

        async def push(user: User) -> LiteLLMError | None:
            async with semaphore:
                try:
                    if user.litellm_synced_at is None:
                        await litellm.ensure_user(str(user.id), alias=user.username, email=user.email, limits=pushed)
                    await litellm.update_user_limits(str(user.id), pushed)
                except LiteLLMError as exc:
                    return exc
                return None

        outcomes = await asyncio.gather(*(push(u) for u in users))
        for user, failure in zip(users, outcomes, strict=True):
            if failure is not None:
                results.append(
                    ApplyResultOut(
                        user_id=user.id, username=user.username, status="failed", error=upstream_error(failure).code
                    )
                )
                if isinstance(failure, LiteLLMUnavailable):
                    completed = False
                continue
            row = rows.get(user.id)
            before = _stored(row)
            if row is None:
                row = UserLimit(user_id=user.id)
                repository.add(session, row)
            for name, value in wanted.items():
                setattr(row, name, value)
            row.updated_by_id = actor.user_id
            user.litellm_synced_at = user.litellm_synced_at or utcnow()
            if before == wanted:
                results.append(ApplyResultOut(user_id=user.id, username=user.username, status="unchanged"))
                continue
            results.append(ApplyResultOut(user_id=user.id, username=user.username, status="applied"))
            await audit.record(
                session,
                actor=actor,
                action="user_limits.update",
                target_type="user",
                target_id=user.id,
                before=before,
                after=wanted,
                reason=reason or "defaults for new users applied to all active users",
            )
        await session.flush()
    counts = {status: sum(1 for r in results if r.status == status) for status in ("applied", "unchanged", "failed")}
    log.info("users.defaults.applied", completed=completed, **counts)
    return ApplyDefaultsOut(defaults=defaults, completed=completed, results=results, **counts)


async def stored_user_limits(session: AsyncSession, user_id: uuid.UUID) -> UserLimitsOut:
    """The stored limits without asking LiteLLM (``spend`` None)."""
    await _user(session, user_id)
    row = await repository.user_limit(session, user_id)
    return UserLimitsOut(user_id=user_id, **(_stored(row) or {}))


async def reset_user_spend(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, user_id: uuid.UUID
) -> UserLimitsOut:
    """Set the user's spend in LiteLLM back to 0 (audited with the spend it had)."""
    owner = await _user(session, user_id)
    await access.lock_user(session, user_id)
    await access.ensure_litellm_user(session, litellm, owner)
    try:
        spent = (await litellm.user_info(str(user_id))).spend
        await litellm.reset_user_spend(str(user_id))
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    await audit.record(
        session,
        actor=actor,
        action="user.spend.reset",
        target_type="user",
        target_id=user_id,
        before={"spend": spent},
        after={"spend": 0.0},
    )
    return await get_user_limits(session, litellm, user_id)
