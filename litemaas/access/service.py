"""The grant rule, the per-user key lock, pushing grant changes to LiteLLM, blocking and LiteLLM users.

Anything that changes what LiteLLM should grant a user's keys (a key's models, a subscription,
a catalog change, deactivation) takes that user's key lock first, before row locks. The locks
are transaction-scoped and re-entrant, and several are always taken in one global order.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.access import repository
from litemaas.access.errors import NoModels, NotSubscribed, UnknownModels
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMAdminClient, LiteLLMError, LiteLLMNotFound, UserLimits
from litemaas.models.api_key import ApiKey
from litemaas.models.user import User
from litemaas.upstream import upstream_error

log = structlog.get_logger("litemaas.access")

_PUSH_CONCURRENCY = 8


# --------------------------------------------------------------------------- locks


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Take one user's key lock until the transaction ends."""
    await repository.lock_user_keys(session, user_id)


async def lock_users(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> None:
    """Take the key locks of several users in one global order (no deadlocks between cascades)."""
    for user_id in sorted(set(user_ids)):
        await repository.lock_user_keys(session, user_id)


# --------------------------------------------------------------------------- the grant rule


async def granted_models(session: AsyncSession, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Model names LiteLLM must grant each key: models on the key ∩ its owner's active subscriptions."""
    return await repository.effective_model_names(session, key_ids)


async def grantable_models(
    session: AsyncSession, user_id: uuid.UUID, names: Iterable[str], *, already_on_key: Iterable[str] = ()
) -> dict[str, uuid.UUID]:
    """Model ids for ``names`` put on a key: each must be live and actively subscribed by the owner.

    Models already on the key may stay while their subscription is suspended (LiteLLM does not
    grant them meanwhile), so editing a key never forces dropping a model awaiting approval.
    """
    kept = set(already_on_key)
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not wanted:
        raise NoModels()
    live = await repository.live_model_ids_by_name(session, wanted)
    unknown = [n for n in wanted if n not in live]
    if unknown:
        raise UnknownModels(unknown)
    active = await repository.active_subscription_model_ids(session, user_id)
    missing = [n for n in wanted if live[n] not in active and n not in kept]
    if missing:
        raise NotSubscribed(missing)
    return {n: live[n] for n in wanted}


@dataclass(slots=True)
class KeyAccessChange:
    """Captures what LiteLLM grants the affected keys before a change, then pushes the difference.

    Usage: ``change = await KeyAccessChange.capture(...)``, change subscriptions/models and flush,
    then ``await change.push(session, litellm)``. On a LiteLLM failure, keys already updated are
    put back (best effort) and the upstream error rolls the change back.
    """

    keys: Sequence[ApiKey]
    before: dict[uuid.UUID, list[str]]

    @classmethod
    async def capture(
        cls,
        session: AsyncSession,
        *,
        model_ids: Iterable[uuid.UUID],
        user_ids: Iterable[uuid.UUID] | None = None,
        also_lock: Iterable[uuid.UUID] = (),
    ) -> KeyAccessChange:
        """Lock the affected users (and ``also_lock``, in the same global order), then snapshot."""
        models = list(set(model_ids))
        users = (
            set(user_ids)
            if user_ids is not None
            else await repository.users_with_active_keys_for_models(session, models)
        )
        await lock_users(session, users | set(also_lock))
        keys = await repository.active_keys_with_models(session, model_ids=models, user_ids=users)
        before = await repository.effective_model_names(session, [k.id for k in keys])
        return cls(keys=keys, before=before)

    async def push(self, session: AsyncSession, litellm: LiteLLMAdminClient) -> int:
        """Update every key whose grant changed; returns how many were updated."""
        if not self.keys:
            return 0
        after = await repository.effective_model_names(session, [k.id for k in self.keys])
        changed = [k for k in self.keys if after[k.id] != self.before[k.id]]
        done: list[ApiKey] = []
        semaphore = asyncio.Semaphore(_PUSH_CONCURRENCY)

        async def push_one(key: ApiKey) -> None:
            async with semaphore:
                try:
                    await litellm.set_key_models(key.token_hash, after[key.id])
                except LiteLLMNotFound:
                    # Gone in LiteLLM already: nothing to grant; reconcile marks it revoked.
                    return
                done.append(key)

        results = await asyncio.gather(*(push_one(k) for k in changed), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            for key in done:
                try:
                    await litellm.set_key_models(key.token_hash, self.before[key.id])
                except LiteLLMError:
                    log.warning("access.push.undo_failed", key_id=str(key.id))
            first = failures[0]
            if isinstance(first, LiteLLMError):
                raise upstream_error(first) from first
            raise first
        if changed:
            log.info("access.push.done", keys=len(changed))
        return len(changed)


# --------------------------------------------------------------------------- deactivation


async def set_user_keys_blocked(
    session: AsyncSession, litellm: LiteLLMAdminClient, user_id: uuid.UUID, *, blocked: bool
) -> int:
    """Block (deactivation) or unblock (reactivation) a user's keys in LiteLLM; returns keys touched.

    Our key rows stay active, so reactivation gives the same keys back. Keys LiteLLM holds for
    this user that we never issued (minted at the proxy, made by hand) are blocked too; they stay
    blocked on reactivation and reconcile deletes them.
    """
    await lock_user(session, user_id)
    hashes = await repository.active_key_hashes(session, user_id)
    if blocked:
        try:
            live = await litellm.list_user_keys(str(user_id))
        except LiteLLMError as exc:
            raise upstream_error(exc) from exc
        ours = set(hashes)
        hashes += [info.token for info in live if info.token and info.token not in ours]
    for key_hash in hashes:
        try:
            if blocked:
                await litellm.block_key(key_hash)
            else:
                await litellm.unblock_key(key_hash)
        except LiteLLMNotFound:
            continue
        except LiteLLMError as exc:
            raise upstream_error(exc) from exc
    return len(hashes)


# --------------------------------------------------------------------------- LiteLLM users


async def _create_litellm_user(session: AsyncSession, litellm: LiteLLMAdminClient, user: User) -> None:
    # The user's limits row (the defaults for new users, written at first login, or an admin's
    # values) goes with the creation, so LiteLLM never holds this user without them.
    row = await repository.user_limit(session, user.id)
    limits = UserLimits(**{name: getattr(row, name) for name in UserLimits.model_fields}) if row is not None else None
    await litellm.ensure_user(str(user.id), alias=user.username, email=user.email, limits=limits)
    user.litellm_synced_at = utcnow()
    await session.flush()


async def ensure_litellm_user(session: AsyncSession, litellm: LiteLLMAdminClient, user: User) -> None:
    """Create the user's LiteLLM counterpart once (its ``user_id`` is our id); 503/502 when LiteLLM fails."""
    if user.litellm_synced_at is not None:
        return
    try:
        await _create_litellm_user(session, litellm, user)
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc


async def try_ensure_litellm_user(session: AsyncSession, litellm: LiteLLMAdminClient, user: User) -> bool:
    """``ensure_litellm_user`` for login, which must not fail because LiteLLM is down.

    False when LiteLLM could not create the user: the next login, key creation or reconcile
    tries again.
    """
    if user.litellm_synced_at is not None:
        return True
    try:
        await _create_litellm_user(session, litellm, user)
    except LiteLLMError as exc:
        log.warning("access.litellm_user.deferred", user_id=str(user.id), error_type=type(exc).__name__)
        return False
    return True


async def count_active_keys_for_model(session: AsyncSession, model_id: uuid.UUID) -> int:
    """Active keys carrying the model (shown before a delete is confirmed)."""
    return await repository.count_active_keys_for_model(session, model_id)
