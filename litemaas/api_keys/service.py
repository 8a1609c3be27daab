"""API key rules.

Ordering that keeps LiteMaaS and LiteLLM consistent: our row change is flushed (uncommitted,
so unique constraints fire first), then LiteLLM is called, then the request's transaction
commits. A LiteLLM failure rolls our change back (503) and undoes what LiteLLM already did
where it can; anything left (e.g. the proxy died mid-way) carries our ids in its metadata and
is repaired by reconcile. Every change to a user's keys holds that user's key lock, so the
cap check, concurrent creates and reconcile see one another's results.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.api_keys import limits as key_limits
from litemaas.api_keys import repository
from litemaas.api_keys.schemas import (
    CreatedKeyOut,
    KeyCreateIn,
    KeyFormLimits,
    KeyListOut,
    KeyOut,
    KeyUpdateIn,
    KeyUsage,
    UserLimitsIn,
    UserLimitsOut,
)
from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.errors import BadRequest, Conflict, NotFound
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import (
    MANAGED_BY_VALUE,
    META_KEY_ID,
    META_MANAGED_BY,
    META_USER_ID,
    NO_MODELS_SENTINEL,
    GeneratedKey,
    GenerateKeyRequest,
    KeyInfo,
    LiteLLMAdminClient,
    LiteLLMError,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
    UserLimits,
    token_hash,
)
from litemaas.litellm_admin.dependencies import upstream_error
from litemaas.litellm_admin.durations import is_duration
from litemaas.models.api_key import ApiKey
from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit
from litemaas.models_catalog import service as catalog
from litemaas.settings_admin import service as settings_service

log = structlog.get_logger("litemaas.api_keys")

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")
_PUSH_CONCURRENCY = 8


def _new_secret() -> str:
    return "sk-" + secrets.token_urlsafe(32)


def _check_alias(alias: str) -> str:
    alias = alias.strip()
    if not _ALIAS.match(alias) or ".." in alias:
        raise BadRequest(
            "alias: 1-64 characters, letters, digits, space, '_', '-', '.' (starting with a letter or digit)",
            field="alias",
        )
    return alias


def litellm_alias(username: str, alias: str) -> str:
    """The key_alias LiteLLM shows and requires to be unique across all users."""
    safe_user = re.sub(r"[^A-Za-z0-9@._+\-]", "_", username) or "user"
    if safe_user in {".", ".."}:
        safe_user = "user"
    return f"{safe_user}/{alias}"


def _key_metadata(key: ApiKey) -> dict[str, Any]:
    return {META_MANAGED_BY: MANAGED_BY_VALUE, META_KEY_ID: str(key.id), META_USER_ID: str(key.user_id)}


def _limits_of(key: ApiKey) -> dict[str, Any]:
    return {
        "tpm_limit": key.tpm_limit,
        "rpm_limit": key.rpm_limit,
        "max_budget": key.max_budget,
        "budget_duration": key.budget_duration,
        "soft_budget": key.soft_budget,
        "max_parallel_requests": key.max_parallel_requests,
    }


def _audit_view(key: ApiKey, models: Sequence[str]) -> dict[str, Any]:
    return {
        "alias": key.alias,
        "last4": key.last4,
        "status": key.status,
        "models": list(models),
        "expires_at": key.expires_at,
        **_limits_of(key),
    }


def _remaining_duration(expires_at: datetime | None) -> str | None:
    if expires_at is None:
        return None
    seconds = int((expires_at - datetime.now(UTC)).total_seconds())
    return f"{max(seconds, 1)}s"


def _usage(info: KeyInfo) -> KeyUsage:
    remaining = info.max_budget - info.spend if info.max_budget is not None else None
    return KeyUsage(
        spend=info.spend,
        max_budget=info.max_budget,
        budget_remaining=remaining,
        soft_budget=info.effective_soft_budget,
        budget_reset_at=info.budget_reset_at,
        last_used_at=info.last_active,
    )


def to_out(key: ApiKey, models: Sequence[str], effective: Sequence[str], usage: KeyUsage | None = None) -> KeyOut:
    return KeyOut(
        id=key.id,
        user_id=key.user_id,
        alias=key.alias,
        display=f"sk-…{key.last4}",
        last4=key.last4,
        status=key.status,
        models=list(models),
        effective_models=list(effective) if key.status == "active" else [],
        tpm_limit=key.tpm_limit,
        rpm_limit=key.rpm_limit,
        max_budget=key.max_budget,
        budget_duration=key.budget_duration,
        soft_budget=key.soft_budget,
        max_parallel_requests=key.max_parallel_requests,
        expires_at=key.expires_at,
        created_at=key.created_at,
        rotated_at=key.rotated_at,
        revoked_at=key.revoked_at,
        revoked_reason=key.revoked_reason,
        usage=usage,
    )


async def _view(session: AsyncSession, key: ApiKey) -> KeyOut:
    models = await repository.key_model_names(session, [key.id])
    effective = await repository.effective_model_names(session, [key.id])
    return to_out(key, models[key.id], effective[key.id])


# --------------------------------------------------------------------------- lookups


async def _owner(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def get_key(session: AsyncSession, key_id: uuid.UUID, *, owner_id: uuid.UUID | None = None) -> ApiKey:
    """A key; with ``owner_id`` only that user's (others' keys look like missing ones)."""
    key = await repository.get_key(session, key_id)
    if key is None or (owner_id is not None and key.user_id != owner_id):
        raise NotFound(f"key {key_id} not found")
    return key


async def _locked_key(session: AsyncSession, key_id: uuid.UUID, owner_id: uuid.UUID | None) -> ApiKey:
    key = await get_key(session, key_id, owner_id=owner_id)
    await repository.lock_user_keys(session, key.user_id)
    locked = await repository.get_key(session, key_id, for_update=True)
    assert locked is not None
    return locked


async def _resolve_models(
    session: AsyncSession, user_id: uuid.UUID, names: Iterable[str], *, already_on_key: Iterable[str] = ()
) -> dict[str, uuid.UUID]:
    """Model ids for ``names``: each must be live and actively subscribed by the owner.

    Models already on the key may stay while their subscription is suspended (LiteLLM does not
    grant them meanwhile), so editing a key never forces dropping a model awaiting approval.
    """
    kept = set(already_on_key)
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not wanted:
        raise BadRequest("models: at least one model is required", field="models")
    live = await catalog.live_models_by_name(session, wanted)
    unknown = [n for n in wanted if n not in live]
    if unknown:
        raise BadRequest(f"models: unknown model(s) {', '.join(unknown)}", field="models")
    active = await repository.active_subscription_model_ids(session, user_id)
    missing = [n for n in wanted if live[n].id not in active and n not in kept]
    if missing:
        raise BadRequest(f"models: no active subscription for {', '.join(missing)}", field="models")
    return {n: live[n].id for n in wanted}


async def key_cap(session: AsyncSession, user_id: uuid.UUID) -> int:
    override = await repository.user_limit(session, user_id)
    if override is not None and override.max_active_keys is not None:
        return override.max_active_keys
    return (await settings_service.get_api_key_settings(session)).max_active_keys_per_user


async def form_limits(session: AsyncSession, user_id: uuid.UUID) -> KeyFormLimits:
    return KeyFormLimits(
        settings=await settings_service.get_api_key_settings(session),
        max_active_keys=await key_cap(session, user_id),
        active_keys=await repository.count_active_keys(session, user_id),
    )


async def ensure_litellm_user(session: AsyncSession, litellm: LiteLLMAdminClient, user: User) -> None:
    """Create the LiteLLM user once (login normally did; this retries when it could not)."""
    if user.litellm_synced_at is not None:
        return
    try:
        await litellm.ensure_user(str(user.id), alias=user.username, email=user.email)
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    user.litellm_synced_at = utcnow()


# --------------------------------------------------------------------------- create


async def create_key(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    data: KeyCreateIn,
) -> CreatedKeyOut:
    owner = await _owner(session, user_id)
    if not owner.is_active:
        raise Conflict("the user is deactivated")
    alias = _check_alias(data.alias)
    model_ids = await _resolve_models(session, user_id, data.models)
    settings = await settings_service.get_api_key_settings(session)
    values = key_limits.resolve(data.model_dump(), settings)

    await repository.lock_user_keys(session, user_id)
    cap = await key_cap(session, user_id)
    if await repository.count_active_keys(session, user_id) >= cap:
        raise Conflict(f"active key limit reached ({cap}); revoke a key first", code="key_limit_reached")
    await ensure_litellm_user(session, litellm, owner)

    secret = _new_secret()
    key = ApiKey(
        id=uuid.uuid4(),
        user_id=user_id,
        alias=alias,
        token_hash=token_hash(secret),
        last4=secret[-4:],
        status="active",
        created_by_id=actor.user_id,
        **{k: v for k, v in values.items() if k != "duration"},
    )
    session.add(key)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"you already have an active key named '{alias}'", field="alias") from None
    await repository.set_key_models(session, key.id, model_ids.values())
    await repository.add_token(session, key)
    await session.flush()
    effective = (await repository.effective_model_names(session, [key.id]))[key.id]

    request = GenerateKeyRequest(
        key=secret,
        user_id=str(user_id),
        models=effective or [NO_MODELS_SENTINEL],
        key_alias=litellm_alias(owner.username, alias),
        duration=values.get("duration"),
        metadata=_key_metadata(key),
        **_limits_of(key),
    )
    generated = await _generate(litellm, request, key)
    key.expires_at = generated.expires
    await session.flush()
    models = sorted(model_ids)
    await audit.record(
        session,
        actor=actor,
        action="api_key.create",
        target_type="api_key",
        target_id=key.id,
        after=_audit_view(key, models),
    )
    log.info("api_key.create.done", key_id=str(key.id), user_id=str(user_id), models=len(models))
    return CreatedKeyOut(**to_out(key, models, effective).model_dump(), key=secret)


async def _generate(litellm: LiteLLMAdminClient, request: GenerateKeyRequest, key: ApiKey) -> GeneratedKey:
    try:
        return await litellm.generate_key(request)
    except LiteLLMUnavailable as exc:
        # The key may exist if only the answer was lost: remove it so nothing is left behind.
        await _best_effort_delete(litellm, key.token_hash)
        raise upstream_error(exc) from exc
    except LiteLLMRejected as exc:
        alias_taken = bool(request.key_alias) and "alias" in exc.message.lower() and "exist" in exc.message.lower()
        # A leftover of ours (e.g. from a crashed create) holds the alias: clear it and retry once.
        try:
            cleared = alias_taken and await _clear_orphan_alias(
                litellm, request.user_id, str(request.key_alias), key.id
            )
        except LiteLLMUnavailable as unavailable:
            # LiteLLM went away while clearing: "try again" is the answer, not "refused".
            raise upstream_error(unavailable) from unavailable
        if cleared:
            try:
                return await litellm.generate_key(request)
            except LiteLLMError as retry_exc:
                await _best_effort_delete(litellm, key.token_hash)
                raise upstream_error(retry_exc) from retry_exc
        raise upstream_error(exc) from exc


async def _clear_orphan_alias(litellm: LiteLLMAdminClient, user_id: str, alias: str, key_id: uuid.UUID) -> bool:
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


async def _best_effort_delete(litellm: LiteLLMAdminClient, key_hash: str) -> None:
    try:
        await litellm.delete_key(key_hash)
    except LiteLLMError:
        log.warning("api_key.compensation.failed", reason="reconcile will remove the leftover key")


# --------------------------------------------------------------------------- list


async def list_keys(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    user_id: uuid.UUID | None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[KeyListOut, int]:
    """Keys with live spend, asking LiteLLM once per owner on the page (never once per key)."""
    keys, total = await repository.list_keys(session, user_id=user_id, status=status, limit=limit, offset=offset)
    ids = [k.id for k in keys]
    models = await repository.key_model_names(session, ids)
    effective = await repository.effective_model_names(session, ids)
    usage: dict[str, KeyInfo] = {}
    usage_available = True
    owners = sorted({str(k.user_id) for k in keys if k.status == "active"})
    if owners:
        semaphore = asyncio.Semaphore(_PUSH_CONCURRENCY)

        async def fetch(owner: str) -> list[KeyInfo]:
            async with semaphore:
                return await litellm.list_user_keys(owner)

        results = await asyncio.gather(*(fetch(o) for o in owners), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                usage_available = False
                if not isinstance(result, LiteLLMError):
                    raise result
                continue
            for info in result:
                if info.token:
                    usage[info.token] = info
    items = [
        to_out(
            key,
            models[key.id],
            effective[key.id],
            _usage(usage[key.token_hash]) if key.token_hash in usage else None,
        )
        for key in keys
    ]
    return KeyListOut(items=items, usage_available=usage_available), total


async def get_key_view(
    session: AsyncSession, litellm: LiteLLMAdminClient, key_id: uuid.UUID, *, owner_id: uuid.UUID | None
) -> KeyOut:
    key = await get_key(session, key_id, owner_id=owner_id)
    view = await _view(session, key)
    if key.status == "active":
        try:
            view.usage = _usage(await litellm.key_info(key.token_hash))
        except LiteLLMError:
            view.usage = None
    return view


# --------------------------------------------------------------------------- update


async def update_key(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    key_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    data: KeyUpdateIn,
) -> KeyOut:
    changed = data.model_fields_set
    key = await _locked_key(session, key_id, owner_id)
    if key.status != "active":
        raise Conflict("a revoked key cannot be edited")
    owner = await _owner(session, key.user_id)
    models_before = (await repository.key_model_names(session, [key.id]))[key.id]
    before = _audit_view(key, models_before)

    fields: dict[str, Any] = {}
    if "alias" in changed and data.alias is not None:
        alias = _check_alias(data.alias)
        if alias != key.alias:
            key.alias = alias
            fields["key_alias"] = litellm_alias(owner.username, alias)
    if "models" in changed and data.models is not None:
        model_ids = await _resolve_models(session, key.user_id, data.models, already_on_key=models_before)
        await repository.set_key_models(session, key.id, model_ids.values())
    limit_fields = changed & set(key_limits.LIMIT_FIELDS)
    if limit_fields:
        settings = await settings_service.get_api_key_settings(session)
        values = key_limits.resolve(data.model_dump(), settings, current=_limits_of(key), changed=limit_fields)
        for name in limit_fields - {"duration"}:
            setattr(key, name, values[name])
            fields[name] = values[name]
        if "duration" in limit_fields:
            fields["duration"] = values["duration"]
    alias_wanted = key.alias  # read before flushing: a failed flush expires the row
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"you already have an active key named '{alias_wanted}'", field="alias") from None

    effective = (await repository.effective_model_names(session, [key.id]))[key.id]
    fields["models"] = effective or [NO_MODELS_SENTINEL]
    try:
        info = await litellm.update_key(key.token_hash, **fields)
    except LiteLLMNotFound as exc:
        raise Conflict("the key no longer exists in LiteLLM; reconcile will mark it revoked") from exc
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    if "duration" in fields:
        key.expires_at = info.expires if info.expires is not None else key.expires_at
        if fields["duration"] is None:
            key.expires_at = None
    await session.flush()
    models_after = (await repository.key_model_names(session, [key.id]))[key.id]
    await audit.record(
        session,
        actor=actor,
        action="api_key.update",
        target_type="api_key",
        target_id=key.id,
        before=before,
        after=_audit_view(key, models_after),
    )
    return to_out(key, models_after, effective)


# --------------------------------------------------------------------------- rotate


async def rotate_key(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    key_id: uuid.UUID,
    owner_id: uuid.UUID | None,
) -> CreatedKeyOut:
    """A new secret with the same owner, alias, models and limits; the old one stops working at once."""
    key = await _locked_key(session, key_id, owner_id)
    if key.status != "active":
        raise Conflict("a revoked key cannot be rotated")
    owner = await _owner(session, key.user_id)
    if not owner.is_active:
        # The successor would be a fresh, unblocked key for someone whose keys are blocked.
        raise Conflict("the user is deactivated")
    effective = (await repository.effective_model_names(session, [key.id]))[key.id]
    old_hash = key.token_hash
    secret = _new_secret()
    new_hash = token_hash(secret)
    # LiteLLM's /key/regenerate is an enterprise feature, so: create the successor (without the
    # alias, which LiteLLM keeps unique), delete the old key, then move the alias over.
    request = GenerateKeyRequest(
        key=secret,
        user_id=str(key.user_id),
        models=effective or [NO_MODELS_SENTINEL],
        key_alias=None,
        duration=_remaining_duration(key.expires_at),
        metadata=_key_metadata(key),
        **_limits_of(key),
    )
    try:
        generated = await litellm.generate_key(request)
    except LiteLLMError as exc:
        await _best_effort_delete(litellm, new_hash)
        raise upstream_error(exc) from exc
    try:
        await litellm.delete_key(old_hash)
    except LiteLLMError as exc:
        await _best_effort_delete(litellm, new_hash)
        raise upstream_error(exc) from exc
    try:
        await litellm.update_key(new_hash, key_alias=litellm_alias(owner.username, key.alias))
    except LiteLLMError:
        # The new secret works; only LiteLLM's display alias is missing. Reconcile sets it.
        log.warning("api_key.rotate.alias_pending", key_id=str(key.id))

    await repository.retire_token(session, old_hash)
    key.token_hash = new_hash
    key.last4 = secret[-4:]
    key.rotated_at = utcnow()
    if generated.expires is not None:
        key.expires_at = generated.expires
    await session.flush()
    await repository.add_token(session, key)
    await session.flush()
    models = (await repository.key_model_names(session, [key.id]))[key.id]
    await audit.record(
        session,
        actor=actor,
        action="api_key.rotate",
        target_type="api_key",
        target_id=key.id,
        after={"alias": key.alias, "last4": key.last4},
    )
    log.info("api_key.rotate.done", key_id=str(key.id))
    return CreatedKeyOut(**to_out(key, models, effective).model_dump(), key=secret)


# --------------------------------------------------------------------------- revoke


async def revoke_key(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    key_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    reason: str | None = None,
) -> KeyOut:
    """Delete the key in LiteLLM first, then mark it revoked here (its history stays attributable)."""
    key = await _locked_key(session, key_id, owner_id)
    if key.status == "revoked":
        return await _view(session, key)
    try:
        await litellm.delete_key(key.token_hash)
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    await _mark_revoked(session, key, actor=actor, reason=reason or "revoked")
    log.info("api_key.revoke.done", key_id=str(key.id))
    return await _view(session, key)


async def _mark_revoked(session: AsyncSession, key: ApiKey, *, actor: Actor, reason: str) -> None:
    """Mark the key revoked here (LiteLLM already has no live key) and audit it."""
    key.status = "revoked"
    key.revoked_at = utcnow()
    key.revoked_reason = reason
    await repository.retire_token(session, key.token_hash)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="api_key.revoke",
        target_type="api_key",
        target_id=key.id,
        before={"status": "active"},
        after={"status": "revoked", "alias": key.alias, "last4": key.last4},
        reason=reason,
    )


async def mark_revoked_by_system(session: AsyncSession, *, actor: Actor, key: ApiKey, reason: str) -> None:
    """Record that a key is gone from LiteLLM (cleanup, reconcile); the caller holds the user's key lock."""
    if key.status == "revoked":
        return
    await _mark_revoked(session, key, actor=actor, reason=reason)


# --------------------------------------------------------------------------- admin extras


async def reset_spend(session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, key_id: uuid.UUID) -> KeyOut:
    key = await _locked_key(session, key_id, None)
    if key.status != "active":
        raise Conflict("a revoked key has no live spend to reset")
    try:
        before = await litellm.key_info(key.token_hash)
        await litellm.reset_key_spend(key.token_hash, 0.0)
    except LiteLLMNotFound as exc:
        raise Conflict("the key no longer exists in LiteLLM; reconcile will mark it revoked") from exc
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    await audit.record(
        session,
        actor=actor,
        action="api_key.reset_spend",
        target_type="api_key",
        target_id=key.id,
        before={"spend": before.spend},
        after={"spend": 0.0},
    )
    view = await _view(session, key)
    view.usage = _usage(before.model_copy(update={"spend": 0.0}))
    return view


async def get_user_limits(session: AsyncSession, litellm: LiteLLMAdminClient, user_id: uuid.UUID) -> UserLimitsOut:
    await _owner(session, user_id)
    row = await repository.user_limit(session, user_id)
    spend: float | None = None
    try:
        spend = (await litellm.user_info(str(user_id))).spend
    except LiteLLMError:
        spend = None
    return UserLimitsOut(
        user_id=user_id,
        max_budget=row.max_budget if row else None,
        budget_duration=row.budget_duration if row else None,
        tpm_limit=row.tpm_limit if row else None,
        rpm_limit=row.rpm_limit if row else None,
        max_active_keys=row.max_active_keys if row else None,
        spend=spend,
    )


async def set_user_limits(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    data: UserLimitsIn,
) -> UserLimitsOut:
    """Per-user budget / TPM / RPM (enforced by LiteLLM on the user) and key cap override."""
    owner = await _owner(session, user_id)
    for name in ("tpm_limit", "rpm_limit"):
        value = getattr(data, name)
        if value is not None and value < 1:
            raise BadRequest(f"{name} must be a whole number of at least 1", field=name)
    if data.max_budget is not None and (data.max_budget < 0 or data.max_budget != data.max_budget):
        raise BadRequest("max_budget must be a finite amount of at least 0", field="max_budget")
    if data.budget_duration is not None and not is_duration(data.budget_duration):
        raise BadRequest(f"invalid duration {data.budget_duration!r} (e.g. 30d)", field="budget_duration")
    await repository.lock_user_keys(session, user_id)
    row = await repository.user_limit(session, user_id)
    before = None
    if row is None:
        row = UserLimit(user_id=user_id)
        session.add(row)
    else:
        before = {
            "max_budget": row.max_budget,
            "budget_duration": row.budget_duration,
            "tpm_limit": row.tpm_limit,
            "rpm_limit": row.rpm_limit,
            "max_active_keys": row.max_active_keys,
        }
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    row.updated_by_id = actor.user_id
    await session.flush()
    await ensure_litellm_user(session, litellm, owner)
    try:
        await litellm.update_user_limits(
            str(user_id),
            UserLimits(
                max_budget=data.max_budget,
                budget_duration=data.budget_duration,
                tpm_limit=data.tpm_limit,
                rpm_limit=data.rpm_limit,
            ),
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


# --------------------------------------------------------------------------- keys follow subscriptions


async def lock_users(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> None:
    """Take the key locks of several users in one global order (no deadlocks between cascades).

    Anything that changes what LiteLLM should grant a user's keys takes that user's lock first,
    before row locks; the locks are re-entrant within a transaction.
    """
    for user_id in sorted(set(user_ids)):
        await repository.lock_user_keys(session, user_id)


@dataclass(slots=True)
class KeyAccessChange:
    """Captures what LiteLLM grants the affected keys before a change, then pushes the difference.

    Usage: ``change = await KeyAccessChange.capture(...)``, change subscriptions/models and flush,
    then ``await change.push(session, litellm)``. On a LiteLLM failure, keys already updated are
    put back (best effort) and ``UpstreamUnavailable`` rolls the change back.
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
    ) -> KeyAccessChange:
        models = list(set(model_ids))
        users = (
            set(user_ids)
            if user_ids is not None
            else await repository.users_with_active_keys_for_models(session, models)
        )
        await lock_users(session, users)
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
                    log.warning("api_key.access.undo_failed", key_id=str(key.id))
            first = failures[0]
            if isinstance(first, LiteLLMError):
                raise upstream_error(first) from first
            raise first
        if changed:
            log.info("api_key.access.pushed", keys=len(changed))
        return len(changed)


async def block_user_keys(session: AsyncSession, litellm: LiteLLMAdminClient, user_id: uuid.UUID) -> int:
    """Block every active key of a deactivated user in LiteLLM (rows stay active for reactivation)."""
    return await _set_blocked(session, litellm, user_id, blocked=True)


async def unblock_user_keys(session: AsyncSession, litellm: LiteLLMAdminClient, user_id: uuid.UUID) -> int:
    return await _set_blocked(session, litellm, user_id, blocked=False)


async def _set_blocked(session: AsyncSession, litellm: LiteLLMAdminClient, user_id: uuid.UUID, *, blocked: bool) -> int:
    await repository.lock_user_keys(session, user_id)
    keys, _ = await repository.list_keys(session, user_id=user_id, status="active")
    hashes = [key.token_hash for key in keys]
    if blocked:
        # Keys LiteLLM holds for this user that we never issued (minted at the proxy, made by
        # hand) are blocked too; they stay blocked on reactivation and reconcile deletes them.
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
