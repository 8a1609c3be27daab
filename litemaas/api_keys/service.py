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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.access import service as access
from litemaas.api_keys import limits as key_limits
from litemaas.api_keys import litellm_ops, repository
from litemaas.api_keys.errors import (
    AliasTaken,
    InvalidAlias,
    KeyGoneInLiteLLM,
    KeyLimitReached,
    KeyNotFound,
    KeyRevoked,
    KeyTermsFixed,
    OwnerDeactivated,
    OwnerNotFound,
)
from litemaas.api_keys.schemas import (
    CreatedKeyOut,
    KeyCreateIn,
    KeyFormLimits,
    KeyListOut,
    KeyOut,
    KeyUpdateIn,
    KeyUsage,
)
from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import (
    MANAGED_BY_VALUE,
    META_KEY_ID,
    META_MANAGED_BY,
    META_USER_ID,
    NO_MODELS_SENTINEL,
    GenerateKeyRequest,
    KeyInfo,
    KeyLimits,
    LiteLLMAdminClient,
    LiteLLMError,
    LiteLLMNotFound,
    token_hash,
)
from litemaas.models.api_key import ApiKey
from litemaas.models.user import User
from litemaas.settings_admin import service as settings_service
from litemaas.upstream import upstream_error
from litemaas.users import limits as user_limits

log = structlog.get_logger("litemaas.api_keys")

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")
# Aliases a user cannot choose (they start with "_"): the playground's key and event seats' keys.
FIXED_ALIAS_PREFIX = "_event-"
"""An event seat's key: models, limits and expiry are the event's; its owner cannot change them."""
_FIXED_ALIAS = re.compile(r"^_event-[0-9a-f]{12}$")
_LITELLM_CONCURRENCY = 8


def _new_secret() -> str:
    return "sk-" + secrets.token_urlsafe(32)


def _check_alias(alias: str) -> str:
    alias = alias.strip()
    if not _ALIAS.match(alias) or ".." in alias:
        raise InvalidAlias()
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
    return KeyLimits.of(key).model_dump()


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
        **_limits_of(key),
        expires_at=key.expires_at,
        created_at=key.created_at,
        rotated_at=key.rotated_at,
        revoked_at=key.revoked_at,
        revoked_reason=key.revoked_reason,
        usage=usage,
    )


async def _view(session: AsyncSession, key: ApiKey) -> KeyOut:
    models = await repository.key_model_names(session, [key.id])
    effective = await access.granted_models(session, [key.id])
    return to_out(key, models[key.id], effective[key.id])


# --------------------------------------------------------------------------- lookups


async def _owner(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise OwnerNotFound(user_id)
    return user


async def get_key(session: AsyncSession, key_id: uuid.UUID, *, owner_id: uuid.UUID | None = None) -> ApiKey:
    """A key; with ``owner_id`` only that user's (others' keys look like missing ones)."""
    key = await repository.get_key(session, key_id)
    if key is None or (owner_id is not None and key.user_id != owner_id):
        raise KeyNotFound(key_id)
    return key


async def _locked_key(session: AsyncSession, key_id: uuid.UUID, owner_id: uuid.UUID | None) -> ApiKey:
    key = await get_key(session, key_id, owner_id=owner_id)
    await access.lock_user(session, key.user_id)
    locked = await repository.get_key(session, key_id, for_update=True)
    if locked is None:
        raise RuntimeError("invariant broken: locked is not None")
    return locked


async def key_cap(session: AsyncSession, user_id: uuid.UUID) -> int:
    """How many active keys the user may hold: their own cap if an admin set one, else the platform's."""
    override = await user_limits.key_cap_override(session, user_id)
    if override is not None:
        return override
    return (await settings_service.get_api_key_settings(session)).max_active_keys_per_user


async def form_limits(session: AsyncSession, user_id: uuid.UUID) -> KeyFormLimits:
    return KeyFormLimits(
        settings=await settings_service.get_api_key_settings(session),
        max_active_keys=await key_cap(session, user_id),
        active_keys=await repository.count_active_keys(session, user_id),
    )


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
        raise OwnerDeactivated()
    alias = _check_alias(data.alias)
    model_ids = await access.grantable_models(session, user_id, data.models)
    settings = await settings_service.get_api_key_settings(session)
    values = key_limits.resolve(data.model_dump(), settings)

    await access.lock_user(session, user_id)
    cap = await key_cap(session, user_id)
    if await repository.count_active_keys(session, user_id) >= cap:
        raise KeyLimitReached(cap)
    key, secret, effective = await _store_and_generate(
        session,
        litellm,
        actor=actor,
        owner=owner,
        alias=alias,
        model_ids=model_ids,
        columns={k: v for k, v in values.items() if k != "duration"},
        duration=values.get("duration"),
    )
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


async def _store_and_generate(  # noqa: PLR0913  keyword-only parts of one new key
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    owner: User,
    alias: str,
    model_ids: Mapping[str, uuid.UUID],
    columns: dict[str, Any],
    duration: str | None,
    metadata: dict[str, Any] | None = None,
) -> tuple[ApiKey, str, list[str]]:
    """Our row (flushed, so a taken alias fails before LiteLLM is asked), then the key at LiteLLM.

    A LiteLLM failure raises and the caller's transaction drops the row; ``litellm_ops.generate``
    removes whatever LiteLLM made. Returns the key, its secret (shown once) and the models granted.
    """
    await access.ensure_litellm_user(session, litellm, owner)
    secret = _new_secret()
    key = ApiKey(
        id=uuid.uuid4(),
        user_id=owner.id,
        alias=alias,
        token_hash=token_hash(secret),
        last4=secret[-4:],
        status="active",
        created_by_id=actor.user_id,
        **columns,
    )
    repository.add_key(session, key)
    try:
        await session.flush()
    except IntegrityError:
        raise AliasTaken(alias) from None
    await repository.set_key_models(session, key.id, model_ids.values())
    await repository.add_token(session, key)
    await session.flush()
    effective = (await access.granted_models(session, [key.id]))[key.id]
    request = GenerateKeyRequest(
        key=secret,
        user_id=str(owner.id),
        models=effective or [NO_MODELS_SENTINEL],
        key_alias=litellm_alias(owner.username, alias),
        duration=duration,
        metadata={**_key_metadata(key), **(metadata or {})},
        **_limits_of(key),
    )
    generated = await litellm_ops.generate(litellm, request, key.id)
    if generated.expires is not None:
        key.expires_at = generated.expires
    await session.flush()
    return key, secret, effective


# --------------------------------------------------------------------------- list


async def list_keys(
    session: AsyncSession,
    litellm: LiteLLMAdminClient | None,
    *,
    user_id: uuid.UUID | None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[KeyListOut, int]:
    """Keys with live spend, asking LiteLLM once per owner on the page (never once per key).

    Without a LiteLLM client (not configured) the keys are listed with ``usage_available`` False.
    """
    keys, total = await repository.list_keys(session, user_id=user_id, status=status, limit=limit, offset=offset)
    ids = [k.id for k in keys]
    models = await repository.key_model_names(session, ids)
    effective = await access.granted_models(session, ids)
    usage: dict[str, KeyInfo] = {}
    usage_available = True
    owners = sorted({str(k.user_id) for k in keys if k.status == "active"})
    if owners and litellm is None:
        # LiteLLM is not configured: the keys are listed without live spend.
        usage_available = False
    elif owners and litellm is not None:
        client = litellm
        semaphore = asyncio.Semaphore(_LITELLM_CONCURRENCY)

        async def fetch(owner: str) -> list[KeyInfo]:
            async with semaphore:
                return await client.list_user_keys(owner)

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


def _refuse_fixed_terms(key: ApiKey, changed: set[str]) -> None:
    """An event seat's key keeps the event's terms: its host or an admin change them through the
    event (``set_fixed_key_terms``), never through the key itself."""
    if key.alias.startswith(FIXED_ALIAS_PREFIX) and changed:
        raise KeyTermsFixed(sorted(changed)[0])


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
        raise KeyRevoked("cannot be edited")
    _refuse_fixed_terms(key, changed)
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
        model_ids = await access.grantable_models(session, key.user_id, data.models, already_on_key=models_before)
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
        raise AliasTaken(alias_wanted) from None

    effective = (await access.granted_models(session, [key.id]))[key.id]
    fields["models"] = effective or [NO_MODELS_SENTINEL]
    try:
        info = await litellm.update_key(key.token_hash, **fields)
    except LiteLLMNotFound as exc:
        raise KeyGoneInLiteLLM() from exc
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
        raise KeyRevoked("cannot be rotated")
    owner = await _owner(session, key.user_id)
    if not owner.is_active:
        # The successor would be a fresh, unblocked key for someone whose keys are blocked.
        raise OwnerDeactivated()
    effective = (await access.granted_models(session, [key.id]))[key.id]
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
        await litellm_ops.best_effort_delete(litellm, new_hash)
        raise upstream_error(exc) from exc
    try:
        await litellm.delete_key(old_hash)
    except LiteLLMError as exc:
        await litellm_ops.best_effort_delete(litellm, new_hash)
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
        raise KeyRevoked("has no live spend to reset")
    try:
        before = await litellm.key_info(key.token_hash)
        await litellm.reset_key_spend(key.token_hash, 0.0)
    except LiteLLMNotFound as exc:
        raise KeyGoneInLiteLLM() from exc
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


# --------------------------------------------------------------------------- playground key

# The alias of every playground key: users' aliases start with a letter or digit, so never theirs.
PLAYGROUND_ALIAS = "_playground"
META_PURPOSE = "litemaas_purpose"


@dataclass(frozen=True, slots=True)
class PlaygroundKey:
    """The user's playground key as the playground uses it: its id and its (derived) secret."""

    key_id: uuid.UUID
    secret: str = field(repr=False)


# Derives a playground key's secret from its id (the secret is never stored anywhere).
SecretFor = Callable[[uuid.UUID], str]


async def playground_key(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    models: Sequence[str],
    limits: KeyLimits,
    secret_for: SecretFor,
    rebuild: bool = False,
) -> PlaygroundKey:
    """The user's playground key for ``models`` with ``limits``, created or brought in line when needed.

    The key is an ``api_keys`` row (purpose "playground") like any other, so the grant rule,
    subscription changes, deactivation, reconcile and usage attribution treat it as they treat
    the user's own keys; the key API never shows it. Nothing but its hash is kept:
    ``secret_for(key_id)`` derives the secret for each call. The usual call is two reads;
    LiteLLM is called only to create the key, follow a change of models or limits, or (with
    ``rebuild``, after the proxy refused the secret) create it again.
    """
    found = None if rebuild else await repository.playground_key_with_models(session, user_id)
    if found is not None:
        key, current = found
        secret = secret_for(key.id)
        if token_hash(secret) == key.token_hash and sorted(current) == sorted(models) and KeyLimits.of(key) == limits:
            return PlaygroundKey(key.id, secret)
    return await _sync_playground_key(
        session,
        litellm,
        actor=actor,
        user_id=user_id,
        models=models,
        limits=limits,
        secret_for=secret_for,
        rebuild=rebuild,
    )


async def _sync_playground_key(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    models: Sequence[str],
    limits: KeyLimits,
    secret_for: SecretFor,
    rebuild: bool,
) -> PlaygroundKey:
    owner = await _owner(session, user_id)
    if not owner.is_active:
        raise OwnerDeactivated()
    await access.lock_user(session, user_id)
    model_ids = await access.grantable_models(session, user_id, models)
    await access.ensure_litellm_user(session, litellm, owner)
    key = await repository.playground_key(session, user_id, for_update=True)
    created = key is None
    if key is None:
        key = ApiKey(
            id=uuid.uuid4(),
            user_id=user_id,
            alias=PLAYGROUND_ALIAS,
            purpose=repository.PLAYGROUND,
            status="active",
            created_by_id=user_id,
            **limits.model_dump(),
        )
    secret = secret_for(key.id)
    new_hash = token_hash(secret)
    current = [] if created else (await repository.key_model_names(session, [key.id]))[key.id]
    stale_secret = not created and new_hash != key.token_hash
    in_line = sorted(current) == sorted(models) and KeyLimits.of(key) == limits
    if not (created or rebuild or stale_secret) and in_line:
        return PlaygroundKey(key.id, secret)  # another request brought it in line meanwhile

    old_hash = None if created else key.token_hash
    for name, value in limits.model_dump().items():
        setattr(key, name, value)
    if created:
        key.token_hash, key.last4 = new_hash, secret[-4:]
        repository.add_key(session, key)
        await session.flush()
        await repository.add_token(session, key)
    elif stale_secret:
        # The derivation root (the master key) changed: the key gets the secret derived now.
        await repository.retire_token(session, key.token_hash)
        key.token_hash, key.last4, key.rotated_at = new_hash, secret[-4:], utcnow()
        await session.flush()
        await repository.add_token(session, key)
    await repository.set_key_models(session, key.id, model_ids.values())
    await session.flush()
    effective = (await access.granted_models(session, [key.id]))[key.id]

    if created or rebuild or stale_secret:
        if old_hash is not None:
            try:
                await litellm.delete_key(old_hash)
            except LiteLLMError as exc:
                raise upstream_error(exc) from exc
        request = GenerateKeyRequest(
            key=secret,
            user_id=str(user_id),
            models=effective or [NO_MODELS_SENTINEL],
            key_alias=litellm_alias(owner.username, PLAYGROUND_ALIAS),
            metadata={**_key_metadata(key), META_PURPOSE: repository.PLAYGROUND},
            **limits.model_dump(),
        )
        await litellm_ops.generate(litellm, request, key.id)
    else:
        try:
            await litellm.update_key(key.token_hash, models=effective or [NO_MODELS_SENTINEL], **limits.model_dump())
        except LiteLLMError as exc:
            raise upstream_error(exc) from exc
    await session.flush()
    if created:
        await audit.record(
            session,
            actor=actor,
            action="api_key.playground.create",
            target_type="api_key",
            target_id=key.id,
            after=_audit_view(key, sorted(model_ids)),
        )
    log.info("api_key.playground.sync", key_id=str(key.id), created=created, rebuilt=rebuild or stale_secret)
    return PlaygroundKey(key.id, secret)


# --------------------------------------------------------------------------- event keys


async def issue_fixed_key(  # noqa: PLR0913  keyword-only terms of one key, all set by the event
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    owner: User,
    alias: str,
    model_names: Sequence[str],
    limits: KeyLimits,
    expires_at: datetime,
    metadata: dict[str, Any],
) -> CreatedKeyOut:
    """A key with limits and expiry set by an admin (a workshop seat), not by its owner.

    The admin's values stand in for the key defaults and maximums, and the key does not count
    against the owner's cap: the event, not the owner, asked for it. The caller holds the
    owner's key lock and has made the subscriptions for ``model_names`` active. LiteLLM first
    (after our flushed row), so a failure leaves nothing here and removes what LiteLLM made.
    """
    if not owner.is_active:
        raise OwnerDeactivated()
    if not _FIXED_ALIAS.match(alias):
        raise InvalidAlias()
    model_ids = await access.grantable_models(session, owner.id, model_names)
    key, secret, effective = await _store_and_generate(
        session,
        litellm,
        actor=actor,
        owner=owner,
        alias=alias,
        model_ids=model_ids,
        columns={"expires_at": expires_at, **limits.model_dump()},
        duration=_remaining_duration(expires_at),
        metadata=metadata,
    )
    models = sorted(model_ids)
    await audit.record(
        session,
        actor=actor,
        action="api_key.create",
        target_type="api_key",
        target_id=key.id,
        after=_audit_view(key, models),
        reason="event seat",
    )
    log.info("api_key.create.done", key_id=str(key.id), user_id=str(owner.id), models=len(models), purpose="event")
    return CreatedKeyOut(**to_out(key, models, effective).model_dump(), key=secret)


async def set_fixed_key_terms(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    *,
    actor: Actor,
    key_id: uuid.UUID,
    limits: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    reason: str,
) -> KeyOut | None:
    """Change an admin-set key's limits and/or expiry (an event's host or admin); None when the key is gone.

    LiteLLM first; a key LiteLLM no longer has is marked revoked here (reconcile would do the same).
    """
    key = await _locked_key(session, key_id, None)
    if key.status != "active":
        return None
    before = _audit_view(key, [])
    fields: dict[str, Any] = dict(limits or {})
    if expires_at is not None:
        fields["duration"] = _remaining_duration(expires_at)
    if not fields:
        return await _view(session, key)
    try:
        info = await litellm.update_key(key.token_hash, **fields)
    except LiteLLMNotFound:
        await _mark_revoked(session, key, actor=actor, reason="gone in LiteLLM")
        return None
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    for name, value in (limits or {}).items():
        setattr(key, name, value)
    if expires_at is not None:
        key.expires_at = info.expires if info.expires is not None else expires_at
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="api_key.update",
        target_type="api_key",
        target_id=key.id,
        before=before,
        after=_audit_view(key, []),
        reason=reason,
    )
    return await _view(session, key)


async def revoke_keys(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, key_ids: Sequence[uuid.UUID], reason: str
) -> int:
    """Delete many keys at LiteLLM in one call, then mark them revoked here; returns how many were live.

    The caller holds the owners' key locks. A LiteLLM failure revokes nothing here (503).
    """
    keys = [k for k in [await repository.get_key(session, i, for_update=True) for i in key_ids] if k is not None]
    live = [k for k in keys if k.status == "active"]
    if not live:
        return 0
    try:
        await litellm.delete_keys([k.token_hash for k in live])
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    for key in live:
        await _mark_revoked(session, key, actor=actor, reason=reason)
    return len(live)
