"""The subscription state machine (SPEC §4).

Users never set a status: each change is a named action with its allowed source states.
Every transition writes a history row and an audit event, and keys follow: whenever a
subscription stops (or starts) being active, the owner's keys in LiteLLM are updated so a
key's models there always equal (models on the key) ∩ (the owner's active subscriptions).

A denial is sticky: until an admin approves or reverts it, it stands whatever the user does.
The user may cancel a denied subscription (or a review request), but subscribing again lands
back in ``denied``; the only way back is request review → an admin's decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.access.service import KeyAccessChange, count_active_keys_for_model, lock_users
from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.errors import LiteMaaSError
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMAdminClient
from litemaas.models.catalog_model import CatalogModel
from litemaas.models.subscription import Subscription
from litemaas.models.subscription_history import SubscriptionHistory
from litemaas.subscriptions import repository
from litemaas.subscriptions.errors import (
    AlreadySubscribed,
    InvalidTransition,
    ModelNotFound,
    ModelUnavailable,
    ReasonRequired,
    SubscriptionDenied,
    SubscriptionNotFound,
)
from litemaas.subscriptions.repository import SubscriptionRow
from litemaas.subscriptions.schemas import (
    BulkItemOut,
    BulkOut,
    CountersOut,
    HistoryOut,
    ModelRef,
    QueueFilter,
    SubscriptionOut,
)
from litemaas.users import service as users

log = structlog.get_logger("litemaas.subscriptions")

PENDING, ACTIVE, DENIED, CANCELLED = "pending", "active", "denied", "cancelled"


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    sources: frozenset[str]
    target: str
    reason_required: bool = False


# User actions (own subscriptions only).
CANCEL = Action("cancel", frozenset({ACTIVE, PENDING, DENIED}), CANCELLED)
REQUEST_REVIEW = Action("request_review", frozenset({DENIED}), PENDING)
# Admin decisions.
APPROVE = Action("approve", frozenset({PENDING, DENIED}), ACTIVE)
DENY = Action("deny", frozenset({PENDING, ACTIVE}), DENIED, reason_required=True)
REVERT = Action("revert", frozenset({ACTIVE, DENIED}), PENDING)
# System cascades from the catalog.
MODEL_RESTRICTED = Action("model_restricted", frozenset({ACTIVE}), PENDING)
MODEL_DELETED = Action("model_deleted", frozenset({ACTIVE, PENDING, DENIED}), CANCELLED)

_ADMIN_DECISIONS = {"approve", "deny"}
# The admin actions that settle whether a denial still stands.
_DENIAL_SETTLERS = ("approve", "deny", "revert")


def _actor_label(actor: Actor) -> str:
    return actor.label


def _model_ref(model: CatalogModel) -> ModelRef:
    return ModelRef(
        id=model.id,
        name=model.name,
        display_name=model.display_name,
        restricted=model.restricted,
        capabilities=list(model.capabilities),
        available=model.is_live,
    )


def to_out(row: SubscriptionRow) -> SubscriptionOut:
    sub = row.subscription
    return SubscriptionOut(
        id=sub.id,
        user_id=sub.user_id,
        username=row.username,
        model=_model_ref(row.model),
        status=sub.status,
        status_reason=sub.status_reason,
        decided_by_id=sub.decided_by_id,
        decided_at=sub.decided_at,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


async def _out(session: AsyncSession, subscription_id: uuid.UUID) -> SubscriptionOut:
    row = await repository.row(session, subscription_id)
    if row is None:
        raise RuntimeError("invariant broken: row is not None")
    return to_out(row)


async def _set_status(
    session: AsyncSession,
    *,
    actor: Actor,
    sub: Subscription,
    action: str,
    to_status: str,
    reason: str | None,
    admin_decision: bool,
    created: bool = False,
) -> None:
    """Move ``sub`` to ``to_status`` with its history row and audit event (``created``: no from-status)."""
    from_status = None if created else sub.status
    sub.status = to_status
    now = utcnow()
    sub.status_reason = reason
    sub.updated_at = now
    if admin_decision:
        sub.decided_by_id = actor.user_id
        sub.decided_at = now
    repository.add_history(
        session,
        SubscriptionHistory(
            subscription_id=sub.id,
            action=action,
            from_status=from_status,
            to_status=sub.status,
            actor_id=actor.user_id,
            actor_label=_actor_label(actor)[:255],
            reason=reason,
            occurred_at=now,
        ),
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"subscription.{action}",
        target_type="subscription",
        target_id=sub.id,
        before={"status": from_status, "user_id": sub.user_id, "model_id": sub.model_id},
        after={"status": sub.status, "user_id": sub.user_id, "model_id": sub.model_id},
        reason=reason,
    )


# --------------------------------------------------------------------------- reads


async def list_own(session: AsyncSession, user_id: uuid.UUID) -> list[SubscriptionOut]:
    return [to_out(row) for row in await repository.list_for_user(session, user_id)]


async def active_models_with_primary(
    session: AsyncSession, user_id: uuid.UUID, capability: str
) -> list[tuple[str, str]]:
    """``(name, display_name)`` of the live models of ``capability`` the user is actively subscribed to."""
    return await repository.active_models_with_primary(session, user_id, capability)


async def get_one(session: AsyncSession, subscription_id: uuid.UUID, *, owner_id: uuid.UUID | None) -> SubscriptionOut:
    row = await repository.row(session, subscription_id)
    if row is None or (owner_id is not None and row.subscription.user_id != owner_id):
        raise SubscriptionNotFound(subscription_id)
    return to_out(row)


async def history(session: AsyncSession, subscription_id: uuid.UUID, *, owner_id: uuid.UUID | None) -> list[HistoryOut]:
    await get_one(session, subscription_id, owner_id=owner_id)
    return [
        HistoryOut(
            action=h.action,
            from_status=h.from_status,
            to_status=h.to_status,
            actor_id=h.actor_id,
            actor_label=h.actor_label,
            reason=h.reason,
            occurred_at=h.occurred_at,
        )
        for h in await repository.history(session, subscription_id)
    ]


async def many(session: AsyncSession, subscription_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SubscriptionOut]:
    """The subscriptions among ``subscription_ids`` that exist, by id (one query)."""
    return {row.subscription.id: to_out(row) for row in await repository.rows(session, subscription_ids)}


async def queue(
    session: AsyncSession, query: QueueFilter, *, limit: int, offset: int
) -> tuple[list[SubscriptionOut], int]:
    rows, total = await repository.search(session, query, limit=limit, offset=offset)
    return [to_out(row) for row in rows], total


# --------------------------------------------------------------------------- subscribe


async def _standing_denial(session: AsyncSession, subscription_id: uuid.UUID) -> SubscriptionHistory | None:
    """The admin's denial still in force (no approval or revert since), if any."""
    last = await repository.last_action(session, subscription_id, among=_DENIAL_SETTLERS)
    return last if last is not None and last.action == DENY.name else None


async def subscribe(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    model_ref: str,
    reason: str | None = None,
) -> SubscriptionOut:
    """Subscribe: active at once for an open model, pending for a restricted one.

    One row per (user, model): a cancelled subscription is reused; an active or pending one
    is a 409; a denied one must go through request review, and a cancelled one whose denial
    still stands goes back to denied.
    """
    model = await repository.model_by_ref(session, model_ref)
    if model is None or not model.is_live:
        raise ModelNotFound(model_ref)
    target = PENDING if model.restricted else ACTIVE
    await lock_users(session, [user_id])
    created = await repository.insert_if_absent(session, user_id=user_id, model_id=model.id, status=target)
    sub = await repository.get_by_user_model_for_update(session, user_id, model.id)
    if sub is None:
        raise RuntimeError("invariant broken: sub is not None")
    if not created and sub.status in (ACTIVE, PENDING):
        raise AlreadySubscribed(model.name, sub.status)
    if not created and sub.status == DENIED:
        raise SubscriptionDenied(model.name)
    if not created:
        denial = await _standing_denial(session, sub.id)
        if denial is not None:
            # Cancelling does not wipe a denial: back to denied, with the admin's reason.
            target, reason = DENIED, denial.reason
    access = await KeyAccessChange.capture(session, model_ids=[model.id], user_ids=[user_id])
    await _set_status(
        session,
        actor=actor,
        sub=sub,
        action="subscribe",
        to_status=target,
        reason=reason,
        admin_decision=False,
        created=created,
    )
    await access.push(session, litellm)
    log.info("subscription.subscribe.done", subscription_id=str(sub.id), status=target, model=model.name)
    return await _out(session, sub.id)


# --------------------------------------------------------------------------- named transitions


async def _apply(
    session: AsyncSession,
    *,
    actor: Actor,
    subscription_id: uuid.UUID,
    action: Action,
    reason: str | None,
    owner_id: uuid.UUID | None,
    admin_decision: bool,
) -> Subscription:
    """Check and apply one transition (history and audit included); keys are the caller's to push.

    The caller has captured the keys (``KeyAccessChange.capture``), which locks the owner.
    """
    sub = await repository.get_for_update(session, subscription_id)
    if sub is None or (owner_id is not None and sub.user_id != owner_id):
        raise SubscriptionNotFound(subscription_id)
    if sub.status not in action.sources:
        raise InvalidTransition(f"cannot {action.name.replace('_', ' ')} a subscription that is {sub.status}")
    model = await repository.model(session, sub.model_id)
    if action.target == ACTIVE and not model.is_live:
        raise ModelUnavailable(model.name)
    if action is REVERT:
        last = await repository.last_action(session, sub.id)
        if last is None or last.action not in _ADMIN_DECISIONS:
            raise InvalidTransition("only an admin approval or denial can be reverted")
    from_status = sub.status
    await _set_status(
        session,
        actor=actor,
        sub=sub,
        action=action.name,
        to_status=action.target,
        reason=reason,
        admin_decision=admin_decision,
    )
    log.info(
        "subscription.transition.done",
        subscription_id=str(sub.id),
        action=action.name,
        from_status=from_status,
        to_status=sub.status,
    )
    return sub


async def _transition(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    subscription_id: uuid.UUID,
    action: Action,
    reason: str | None,
    owner_id: uuid.UUID | None,
    admin_decision: bool,
) -> SubscriptionOut:
    reason = reason.strip() if reason else None
    if action.reason_required and not reason:
        raise ReasonRequired(action.name.replace("_", " "))
    target = (await repository.targets_of(session, [subscription_id])).get(subscription_id)
    if target is None or (owner_id is not None and target[0] != owner_id):
        raise SubscriptionNotFound(subscription_id)
    user_id, model_id = target
    access = await KeyAccessChange.capture(session, model_ids=[model_id], user_ids=[user_id])
    sub = await _apply(
        session,
        actor=actor,
        subscription_id=subscription_id,
        action=action,
        reason=reason,
        owner_id=owner_id,
        admin_decision=admin_decision,
    )
    await access.push(session, litellm)
    return await _out(session, sub.id)


async def cancel(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, subscription_id: uuid.UUID, owner_id: uuid.UUID
) -> SubscriptionOut:
    return await _transition(
        session,
        litellm,
        actor=actor,
        subscription_id=subscription_id,
        action=CANCEL,
        reason=None,
        owner_id=owner_id,
        admin_decision=False,
    )


async def request_review(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    subscription_id: uuid.UUID,
    owner_id: uuid.UUID,
    reason: str | None,
) -> SubscriptionOut:
    return await _transition(
        session,
        litellm,
        actor=actor,
        subscription_id=subscription_id,
        action=REQUEST_REVIEW,
        reason=reason,
        owner_id=owner_id,
        admin_decision=False,
    )


ADMIN_ACTIONS = {"approve": APPROVE, "deny": DENY, "revert": REVERT}


async def decide(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    subscription_id: uuid.UUID,
    action: str,
    reason: str | None,
) -> SubscriptionOut:
    """An admin decision: approve, deny (reason required) or revert the last decision."""
    return await _transition(
        session,
        litellm,
        actor=actor,
        subscription_id=subscription_id,
        action=ADMIN_ACTIONS[action],
        reason=reason,
        owner_id=None,
        admin_decision=action != "revert",
    )


async def decide_bulk(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    ids: Sequence[uuid.UUID],
    action: str,
    reason: str | None,
) -> BulkOut:
    """Apply one decision to many subscriptions; each succeeds or fails on its own.

    Keys follow once for the whole batch: the owners are locked and their keys captured up
    front, every transition is applied (each in its savepoint), then each key whose grant
    changed gets one LiteLLM update — per key, not per request (LiteLLM's ``/key/bulk_update``
    cannot set a key's models, so one ``/key/update`` per changed key is the floor). Should
    LiteLLM fail, the keys already updated are put back and the whole batch rolls back (503).
    """
    decision = ADMIN_ACTIONS[action]
    reason = reason.strip() if reason else None
    if decision.reason_required and not reason:
        raise ReasonRequired(action)
    unique = list(dict.fromkeys(ids))
    targets = await repository.targets_of(session, unique)
    access = await KeyAccessChange.capture(
        session,
        model_ids={model_id for _, model_id in targets.values()},
        user_ids={user_id for user_id, _ in targets.values()},
    )
    results: list[BulkItemOut] = []
    for subscription_id in unique:
        try:
            async with session.begin_nested():
                sub = await _apply(
                    session,
                    actor=actor,
                    subscription_id=subscription_id,
                    action=decision,
                    reason=reason,
                    owner_id=None,
                    admin_decision=action != "revert",
                )
            results.append(BulkItemOut(id=subscription_id, ok=True, status=sub.status))
        except LiteMaaSError as exc:
            results.append(BulkItemOut(id=subscription_id, ok=False, error=exc.code, detail=exc.message))
    keys_updated = await access.push(session, litellm)
    succeeded = sum(1 for r in results if r.ok)
    log.info("subscription.bulk.done", action=action, succeeded=succeeded, keys_updated=keys_updated)
    return BulkOut(
        action=action,
        succeeded=succeeded,
        failed=len(results) - succeeded,
        keys_updated=keys_updated,
        results=results,
    )


async def counters(session: AsyncSession) -> CountersOut:
    """The queue's counters: pending now, approvals and denials since midnight UTC."""
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    decided = await repository.decisions_since(session, midnight)
    return CountersOut(
        pending=await repository.count_status(session, PENDING),
        approved_today=decided.get("approve", 0),
        denied_today=decided.get("deny", 0),
    )


# --------------------------------------------------------------------------- catalog cascades


async def _cascade(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    model: CatalogModel,
    action: Action,
    reason: str,
) -> int:
    subscribers = await repository.users_for_model(session, model.id, action.sources)
    access = await KeyAccessChange.capture(session, model_ids=[model.id], also_lock=subscribers)
    subs = await repository.for_model_for_update(session, model.id, action.sources)
    for sub in subs:
        await _set_status(
            session,
            actor=actor,
            sub=sub,
            action=action.name,
            to_status=action.target,
            reason=reason,
            admin_decision=False,
        )
    await session.flush()
    await access.push(session, litellm)
    log.info("subscription.cascade.done", action=action.name, model=model.name, subscriptions=len(subs))
    return len(subs)


async def suspend_for_restricted_model(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, model: CatalogModel
) -> int:
    """The model became restricted: active subscriptions go back to pending, keys lose the model."""
    return await _cascade(
        session,
        litellm,
        actor=actor,
        model=model,
        action=MODEL_RESTRICTED,
        reason="model is now restricted: access awaits admin approval",
    )


async def end_for_deleted_model(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, model: CatalogModel, reason: str
) -> int:
    """The model is going: end its subscriptions, so keys lose it (the catalog marks it deleted)."""
    return await _cascade(session, litellm, actor=actor, model=model, action=MODEL_DELETED, reason=reason)


# --------------------------------------------------------------------------- admin console counts


async def status_counts_by_model(
    session: AsyncSession, model_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, dict[str, int]]:
    """Subscriptions per model and status (the models page's subscriber counts, a delete's cascade)."""
    return await repository.status_counts_by_model(session, model_ids)


async def active_keys_for_model(session: AsyncSession, model_id: uuid.UUID) -> int:
    """Active keys carrying the model: what a delete of it strips."""
    return await count_active_keys_for_model(session, model_id)


# --------------------------------------------------------------------------- direct grant

GRANT_REASON = "granted directly by an admin (no approval request)"


async def grant(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    model_ref: str,
    reason: str | None = None,
) -> tuple[SubscriptionOut, bool]:
    """An admin gives a user a model directly, bypassing approval (audited as ``subscription.grant``).

    Idempotent: an active subscription is returned as it is (``False``: nothing changed). Any
    other state (none, pending, denied, cancelled) becomes active, with its history row, and
    the user's keys carrying the model get it in LiteLLM (the grant rule of ``access``).
    """
    await users.get_user(session, user_id)
    model = await repository.model_by_ref(session, model_ref)
    if model is None or not model.is_live:
        raise ModelNotFound(model_ref)
    reason = (reason or "").strip() or GRANT_REASON
    await lock_users(session, [user_id])
    created = await repository.insert_if_absent(session, user_id=user_id, model_id=model.id, status=ACTIVE)
    sub = await repository.get_by_user_model_for_update(session, user_id, model.id)
    if sub is None:
        raise RuntimeError("invariant broken: sub is not None")
    if not created and sub.status == ACTIVE:
        return await _out(session, sub.id), False
    access = await KeyAccessChange.capture(session, model_ids=[model.id], user_ids=[user_id])
    await _set_status(
        session,
        actor=actor,
        sub=sub,
        action="grant",
        to_status=ACTIVE,
        reason=reason,
        admin_decision=True,
        created=created,
    )
    await access.push(session, litellm)
    log.info("subscription.grant.done", subscription_id=str(sub.id), model=model.name)
    return await _out(session, sub.id), True


# --------------------------------------------------------------------------- event grants

EVENT_ENDED = Action("event_ended", frozenset({ACTIVE}), CANCELLED)


async def grant_for_event(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    model_ids: Sequence[uuid.UUID],
    event_name: str,
) -> tuple[list[uuid.UUID], Callable[[], Awaitable[None]]]:
    """Make the user's subscriptions to ``model_ids`` active because they joined an event.

    Restricted models included: the event is the approval (history action ``event_grant``,
    audited). Returns the models this activated (those not active before) and the push that gives
    the user's keys carrying a suspended model that model back in LiteLLM (the grant rule): the
    caller awaits it once the rest of its work is in place (a join: after the seat's key exists).
    """
    reason = f"granted by event '{event_name}'"[:500]
    activated: list[uuid.UUID] = []
    change = await KeyAccessChange.capture(session, model_ids=model_ids, user_ids=[user_id])
    for model_id in sorted(set(model_ids)):
        created = await repository.insert_if_absent(session, user_id=user_id, model_id=model_id, status=ACTIVE)
        sub = await repository.get_by_user_model_for_update(session, user_id, model_id)
        if sub is None:
            raise RuntimeError("invariant broken: sub is not None")
        if not created and sub.status == ACTIVE:
            continue
        await _set_status(
            session,
            actor=actor,
            sub=sub,
            action="event_grant",
            to_status=ACTIVE,
            reason=reason,
            admin_decision=True,
            created=created,
        )
        activated.append(model_id)

    async def push() -> None:
        if activated:
            await change.push(session, litellm)

    return activated, push


async def end_event_grants(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    model_ids: Sequence[uuid.UUID],
    reason: str,
) -> int:
    """End the subscriptions an event activated (still active ones); the user's keys follow in LiteLLM."""
    wanted = sorted(set(model_ids))
    if not wanted:
        return 0
    change = await KeyAccessChange.capture(session, model_ids=wanted, user_ids=[user_id])
    ended = 0
    for model_id in wanted:
        sub = await repository.get_by_user_model_for_update(session, user_id, model_id)
        if sub is None or sub.status != ACTIVE:
            continue
        await _set_status(
            session,
            actor=actor,
            sub=sub,
            action=EVENT_ENDED.name,
            to_status=EVENT_ENDED.target,
            reason=reason,
            admin_decision=False,
        )
        ended += 1
    await change.push(session, litellm)
    return ended
