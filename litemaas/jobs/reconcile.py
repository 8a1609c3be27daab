"""Reconcile: find and repair drift between LiteMaaS (the system of record) and LiteLLM.

Repairs, for keys LiteMaaS manages (tagged ``managed_by=litemaas`` in LiteLLM metadata):

- revoked (or rotated-away) here but live there → deleted in LiteLLM;
- tagged with our ids but unknown here (a create that died half-way) → deleted in LiteLLM;
- owned by one of our users (LiteLLM ``user_id``) but never issued by us (no token hash of
  ours: minted at the proxy, or made by hand with the master key) → deleted in LiteLLM;
- active here but gone there → marked revoked here;
- live on both sides but different: models (must be models on key ∩ active subscriptions),
  display alias, limits, blocked state (blocked exactly when the owner is deactivated), or
  the route allowlist (keys issued before it existed) → LiteLLM updated to match us;
- catalog vs LiteLLM models → catalog sync (new models added, vanished ones ended);
- users whose LiteLLM user could not be created at login → created;
- per-user limits set here (budget, TPM, RPM) that LiteLLM holds otherwise → pushed again.
- our users whose LiteLLM role could manage keys (``internal_user``, ...) → set back to
  ``internal_user_viewer`` (see ``litellm_admin.access``).

Keys that neither carry our tag nor belong to one of our users are never touched. A first pass
finds candidates without locks; each user's repairs then run in their own transaction under that user's key lock, after
re-reading both sides, so an operation in flight is never mistaken for drift.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.access import service as access
from litemaas.api_keys import service as keys_service
from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.errors import LiteMaaSError
from litemaas.jobs import repository, service
from litemaas.litellm_admin import (
    KEY_ALLOWED_ROUTES,
    KEY_LIMIT_FIELDS,
    LITELLM_USER_ROLE,
    MANAGED_BY_VALUE,
    META_KEY_ID,
    META_MANAGED_BY,
    META_USER_ID,
    NO_MODELS_SENTINEL,
    KeyInfo,
    LiteLLMAdminClient,
    LiteLLMError,
    LiteLLMUnavailable,
    UserInfo,
    UserLimits,
    has_key_restriction,
)
from litemaas.models.api_key import ApiKey
from litemaas.models.user_limit import UserLimit
from litemaas.models_catalog import lifecycle

# Budgets are floats on LiteLLM's side: equal when they differ by less than this.
_MONEY_EPSILON = 1e-9

log = structlog.get_logger("litemaas.jobs.reconcile")

# soft_budget is left out: LiteLLM reports it through the key's budget table, not on the key.
_LIMIT_FIELDS = tuple(name for name in KEY_LIMIT_FIELDS if name != "soft_budget")


@dataclass(slots=True)
class Change:
    """One repair (or, in a dry run, one repair that would be made)."""

    kind: str
    target: str
    detail: str
    applied: bool = False

    def line(self) -> str:
        mark = "fixed" if self.applied else "would fix"
        return f"{mark:9} {self.kind:22} {self.target}  {self.detail}"


@dataclass(slots=True)
class ReconcileReport:
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    keys_checked: int = 0

    @property
    def summary(self) -> str:
        applied = sum(1 for c in self.changes if c.applied)
        verb = "found" if self.dry_run else f"{applied} applied,"
        return (
            f"reconcile{' (dry run)' if self.dry_run else ''}: {len(self.changes)} drift(s) {verb} "
            f"{len(self.errors)} error(s), {self.keys_checked} LiteLLM key(s) checked"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "summary": self.summary,
            "keys_checked": self.keys_checked,
            "changes": [
                {"kind": c.kind, "target": c.target, "detail": c.detail, "applied": c.applied} for c in self.changes
            ],
            "errors": self.errors,
        }


def _is_ours(info: KeyInfo) -> bool:
    return info.metadata.get(META_MANAGED_BY) == MANAGED_BY_VALUE or META_KEY_ID in info.metadata


def _owner_of(info: KeyInfo) -> uuid.UUID | None:
    for value in (info.metadata.get(META_USER_ID), info.user_id):
        try:
            return uuid.UUID(str(value))
        except (TypeError, ValueError):
            continue
    return None


def _litellm_owner(info: KeyInfo) -> uuid.UUID | None:
    """The LiteLLM user a key belongs to, when that id could be one of ours (a UUID)."""
    try:
        return uuid.UUID(str(info.user_id)) if info.user_id else None
    except ValueError:
        return None


def _expected_models(effective: Sequence[str]) -> set[str]:
    return set(effective) if effective else {NO_MODELS_SENTINEL}


def _limit_drift(key: ApiKey, info: KeyInfo) -> dict[str, Any]:
    drift: dict[str, Any] = {}
    for name in _LIMIT_FIELDS:
        ours, theirs = getattr(key, name), getattr(info, name)
        if isinstance(ours, float) or isinstance(theirs, float):
            same = (
                ours is None
                and theirs is None
                or (ours is not None and theirs is not None and abs(float(ours) - float(theirs)) < _MONEY_EPSILON)
            )
        else:
            same = ours == theirs
        if not same:
            drift[name] = ours
    return drift


@dataclass(slots=True)
class _UserPlan:
    """Repairs for one user's keys, computed from a consistent view of both sides."""

    delete: list[tuple[str, str, str]] = field(default_factory=list)  # (hash, target, reason)
    mark_revoked: list[ApiKey] = field(default_factory=list)
    update: list[tuple[ApiKey, dict[str, Any], str]] = field(default_factory=list)


async def _plan_for(
    session: AsyncSession, user_ids: Iterable[uuid.UUID] | None, litellm_keys: Iterable[KeyInfo]
) -> dict[uuid.UUID | None, _UserPlan]:
    """Compare our keys (of ``user_ids``, or all) with the given LiteLLM keys."""
    tokens = await repository.token_owners(session)
    active = await repository.active_keys(session, user_ids)
    effective = await access.granted_models(session, [k.id for k in active])
    owners = await repository.owners(session, {k.user_id for k in active})
    usernames = {user_id: username for user_id, username, _ in owners}
    # A deactivated user's keys stay active here but are blocked in LiteLLM.
    blocked_owners = {user_id for user_id, _, is_active in owners if not is_active}
    litellm_keys = list(litellm_keys)
    theirs = {k.token: k for k in litellm_keys if k.token and _is_ours(k)}
    plans: dict[uuid.UUID | None, _UserPlan] = defaultdict(_UserPlan)

    # Keys of our users that we never issued: minted at the proxy by a user key (before the
    # route allowlist) or made by hand. They escape deactivation, limits and guardrails.
    unissued = {
        k.token: holder
        for k in litellm_keys
        if k.token and not _is_ours(k) and k.token not in tokens and (holder := _litellm_owner(k)) is not None
    }
    known_users = await repository.existing_user_ids(session, unissued.values())
    for token, owner_id in unissued.items():
        if owner_id in known_users:
            plans[owner_id].delete.append(
                (token, f"litellm key …{token[-8:]}", f"owned by user {owner_id} but not issued by LiteMaaS")
            )

    for token, info in theirs.items():
        owner = tokens.get(token)
        if owner is None:
            plans[_owner_of(info)].delete.append(
                (token, f"litellm key …{token[-8:]}", f"tagged {info.metadata.get(META_KEY_ID)} but unknown here")
            )
        elif not owner[2]:
            plans[owner[1]].delete.append((token, f"key {owner[0]}", "revoked or rotated here but live in LiteLLM"))
    for key in active:
        live = theirs.get(key.token_hash)
        if live is None:
            plans[key.user_id].mark_revoked.append(key)
            continue
        fields: dict[str, Any] = {}
        expected = _expected_models(effective[key.id])
        if set(live.models) != expected:
            fields["models"] = sorted(expected)
        alias = keys_service.litellm_alias(usernames.get(key.user_id, str(key.user_id)), key.alias)
        if live.key_alias != alias:
            fields["key_alias"] = alias
        fields.update(_limit_drift(key, live))
        should_block = key.user_id in blocked_owners
        if bool(live.blocked) != should_block:
            fields["blocked"] = should_block
        if not has_key_restriction(live.allowed_routes):
            fields["allowed_routes"] = list(KEY_ALLOWED_ROUTES)
        if fields:
            detail = ", ".join(_describe_field(name, value, live) for name, value in fields.items())
            plans[key.user_id].update.append((key, fields, detail))
    return {user: plan for user, plan in plans.items() if plan.delete or plan.mark_revoked or plan.update}


def _describe_field(name: str, value: Any, live: KeyInfo) -> str:
    if name == "models":
        return f"models {sorted(live.models)} → {value}"
    if name == "allowed_routes":
        return f"allowed_routes {sorted(live.allowed_routes) or 'unrestricted'} → model API only"
    return f"{name} → {value}"


def _describe(plan: _UserPlan) -> list[Change]:
    changes = [Change("key.delete_in_litellm", target, reason) for _, target, reason in plan.delete]
    changes += [
        Change("key.mark_revoked", f"key {k.id} ({k.alias})", "active here but missing in LiteLLM")
        for k in plan.mark_revoked
    ]
    changes += [Change("key.update_in_litellm", f"key {k.id} ({k.alias})", detail) for k, _, detail in plan.update]
    return changes


async def _apply(
    session: AsyncSession, litellm: LiteLLMAdminClient, actor: Actor, plan: _UserPlan, report: ReconcileReport
) -> None:
    for token, target, reason in plan.delete:
        change = Change("key.delete_in_litellm", target, reason)
        report.changes.append(change)
        await litellm.delete_key(token)
        change.applied = True
        await audit.record(
            session,
            actor=actor,
            action="reconcile.key.delete",
            target_type="litellm_key",
            target_id=token,
            reason=reason,
        )
    for key in plan.mark_revoked:
        change = Change("key.mark_revoked", f"key {key.id} ({key.alias})", "active here but missing in LiteLLM")
        report.changes.append(change)
        await keys_service.mark_revoked_by_system(session, actor=actor, key=key, reason="deleted in LiteLLM")
        change.applied = True
    for key, fields, detail in plan.update:
        change = Change("key.update_in_litellm", f"key {key.id} ({key.alias})", detail)
        report.changes.append(change)
        await litellm.update_key(key.token_hash, **fields)
        change.applied = True
        await audit.record(
            session,
            actor=actor,
            action="reconcile.key.update",
            target_type="api_key",
            target_id=key.id,
            after={name: value for name, value in fields.items()},
        )


async def _sync_models(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    actor: Actor,
    report: ReconcileReport,
) -> None:
    async with sessionmaker() as session:
        try:
            result = await lifecycle.sync(session, litellm, actor=actor, dry_run=report.dry_run)
            await session.commit()
        except LiteMaaSError as exc:
            await session.rollback()
            report.errors.append(f"model sync: {exc.message}")
            return
    applied = not report.dry_run
    report.changes += [Change("model.added", name, "new in LiteLLM", applied) for name in result.added]
    report.changes += [Change("model.updated", name, "LiteLLM fields refreshed", applied) for name in result.updated]
    report.changes += [
        Change("model.removed", name, "gone from LiteLLM: subscriptions ended, keys stripped", applied)
        for name in result.removed
    ]


async def _sync_users(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    report: ReconcileReport,
) -> None:
    async with sessionmaker() as session:
        for user in await repository.users_missing_in_litellm(session):
            change = Change("user.create_in_litellm", user.username, "LiteLLM user missing (login could not create it)")
            report.changes.append(change)
            if report.dry_run:
                continue
            try:
                await access.ensure_litellm_user(session, litellm, user)
            except LiteMaaSError as exc:
                report.errors.append(f"user {user.username}: {exc.message}")
                continue
            change.applied = True
        await session.commit()


_USER_LIMIT_FIELDS = tuple(UserLimits.model_fields)


def _user_limit_drift(row: UserLimit, info: UserInfo) -> dict[str, Any]:
    drift: dict[str, Any] = {}
    for name in _USER_LIMIT_FIELDS:
        ours, theirs = getattr(row, name), getattr(info, name)
        if isinstance(ours, float) and isinstance(theirs, (int, float)):
            same = abs(ours - float(theirs)) < _MONEY_EPSILON
        else:
            same = ours == theirs
        if not same:
            drift[name] = ours
    return drift


async def _sync_user_limits(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    actor: Actor,
    report: ReconcileReport,
) -> None:
    """Per-user limits: an update LiteLLM applied while our transaction rolled back is undone.

    Each user is re-read under that user's key lock (set_user_limits holds it too), so a
    change in flight is never taken for drift.
    """
    async with sessionmaker() as session:
        candidates = await repository.users_with_limits(session)
    for user_id, username in candidates:
        async with sessionmaker() as session:
            try:
                await access.lock_user(session, user_id)
                row = await repository.user_limit(session, user_id)
                if row is None:
                    continue
                drift = _user_limit_drift(row, await litellm.user_info(str(user_id)))
                if not drift:
                    continue
                change = Change("user.limits_in_litellm", username, ", ".join(f"{n} → {v}" for n, v in drift.items()))
                report.changes.append(change)
                if report.dry_run:
                    continue
                wanted = UserLimits(**{name: getattr(row, name) for name in _USER_LIMIT_FIELDS})
                await litellm.update_user_limits(str(user_id), wanted)
                change.applied = True
                await audit.record(
                    session,
                    actor=actor,
                    action="reconcile.user_limits.update",
                    target_type="user",
                    target_id=user_id,
                    after=wanted.model_dump(),
                )
                await session.commit()
            except LiteLLMError as exc:
                await session.rollback()
                report.errors.append(f"user {username} limits: {exc.message}")
                if isinstance(exc, LiteLLMUnavailable):
                    return  # the rest would only wait for the same outage


async def _sync_user_roles(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    report: ReconcileReport,
) -> None:
    """Our users' LiteLLM role must be one that cannot manage keys (``litellm_admin.access``)."""
    try:
        others = [u async for u in litellm.iter_users() if u.user_role != LITELLM_USER_ROLE]
    except LiteLLMError as exc:
        report.errors.append(f"listing LiteLLM users: {exc.message}")
        return
    candidates: dict[uuid.UUID, str | None] = {}
    for info in others:
        try:
            candidates[uuid.UUID(info.user_id)] = info.user_role
        except ValueError:
            continue  # not an id LiteMaaS gives its users
    if not candidates:
        return
    async with sessionmaker() as session:
        ours = await repository.usernames(session, candidates)
    for user_id, username in ours:
        change = Change("user.role_in_litellm", username, f"role {candidates[user_id]} → {LITELLM_USER_ROLE}")
        report.changes.append(change)
        if report.dry_run:
            continue
        try:
            await litellm.set_user_role(str(user_id), LITELLM_USER_ROLE)
        except LiteLLMError as exc:
            report.errors.append(f"user {username}: {exc.message}")
            continue
        change.applied = True


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    dry_run: bool = False,
    include_models: bool = True,
) -> ReconcileReport:
    report = ReconcileReport(dry_run=dry_run)
    if include_models:
        await _sync_models(sessionmaker, litellm, actor, report)
    await _sync_users(sessionmaker, litellm, report)
    await _sync_user_limits(sessionmaker, litellm, actor, report)
    await _sync_user_roles(sessionmaker, litellm, report)
    try:
        all_keys = [key async for key in litellm.iter_keys()]
    except LiteLLMError as exc:
        report.errors.append(f"listing LiteLLM keys: {exc.message}")
        log.warning("reconcile.done", summary=report.summary)
        return report
    report.keys_checked = len(all_keys)

    async with sessionmaker() as session:
        candidates = await _plan_for(session, None, all_keys)
    if dry_run:
        for plan in candidates.values():
            report.changes += _describe(plan)
        log.info("reconcile.done", summary=report.summary)
        return report

    for user_id in sorted(candidates, key=lambda u: (u is None, str(u))):
        async with sessionmaker() as session:
            try:
                if user_id is None:
                    # Tagged keys naming no user of ours: nothing to lock or re-read here.
                    plan = candidates[None]
                else:
                    await access.lock_user(session, user_id)
                    fresh = await litellm.list_user_keys(str(user_id))
                    plan = (await _plan_for(session, [user_id], fresh)).get(user_id, _UserPlan())
                await _apply(session, litellm, actor, plan, report)
                await session.commit()
            except (LiteLLMError, LiteMaaSError) as exc:
                await session.rollback()
                report.errors.append(f"user {user_id}: {exc.message}")
    log.info("reconcile.done", summary=report.summary)
    return report


async def run_reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    dry_run: bool = False,
    include_models: bool = True,
) -> tuple[ReconcileReport, uuid.UUID]:
    """``reconcile`` recorded in ``job_runs`` (failed when it reported errors)."""
    async with service.record_run(
        sessionmaker,
        "reconcile",
        triggered_by=service.actor_label(actor),
        triggered_by_id=actor.user_id,
        dry_run=dry_run,
    ) as run:
        report = await reconcile(sessionmaker, litellm, actor=actor, dry_run=dry_run, include_models=include_models)
        run.counts = {
            "drifts": len(report.changes),
            "applied": sum(1 for c in report.changes if c.applied),
            "keys_checked": report.keys_checked,
            "errors": len(report.errors),
        }
        if report.errors:
            run.fail("; ".join(report.errors)[:2000])
    return report, run.id
