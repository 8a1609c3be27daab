"""Catalog changes that cascade: sync from LiteLLM, admin create/update/delete/restore.

The catalog sits above the subscriptions domain: restricting a model moves its active
subscriptions back to pending, deleting one ends them, and both strip the model from keys
(subscriptions push the change through ``access``).
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.litellm_admin import LiteLLMAdminClient, LiteLLMError, NewModelRequest
from litemaas.models.catalog_model import CatalogModel
from litemaas.models_catalog import capabilities, repository
from litemaas.models_catalog import service as catalog
from litemaas.models_catalog.errors import (
    DefinedInProxyConfig,
    InvalidModelDefinition,
    ModelExists,
    NotDeleted,
    NotServed,
    UnknownCapabilities,
)
from litemaas.models_catalog.schemas import PER_MILLION, ModelCreateIn, ModelImpactOut, ModelUpdateIn, SyncOut
from litemaas.subscriptions import service as subscriptions
from litemaas.upstream import upstream_error

log = structlog.get_logger("litemaas.models_catalog")

_MODE_FOR_PRIMARY = {"chat": "chat", "safety": "chat", "embeddings": "embedding"}


def _capabilities(tags: list[str]) -> list[str]:
    unknown = [t for t in tags if t.strip().lower() not in capabilities.CAPABILITIES]
    if unknown:
        raise UnknownCapabilities(unknown)
    return capabilities.normalize(tags)


def _snapshot(model: CatalogModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "display_name": model.display_name,
        "restricted": model.restricted,
        "capabilities": list(model.capabilities),
        "input_cost_per_token": model.input_cost_per_token,
        "output_cost_per_token": model.output_cost_per_token,
        "cost_per_page": model.cost_per_page,
        "context_length": model.context_length,
        "deleted_at": model.deleted_at,
    }


async def _end(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, model: CatalogModel, reason: str
) -> int:
    """End the model's subscriptions (keys lose it in LiteLLM), then mark it deleted here."""
    ended = await subscriptions.end_for_deleted_model(session, litellm, actor=actor, model=model, reason=reason)
    catalog.mark_deleted(model)
    await session.flush()
    return ended


# --------------------------------------------------------------------------- sync


async def sync(session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, dry_run: bool = False) -> SyncOut:
    """Re-read LiteLLM: add new models, refresh LiteLLM-owned fields, end models LiteLLM deleted.

    One-way (LiteLLM → catalog): nothing is ever written back to LiteLLM, and a model deleted
    in the catalog stays deleted even if LiteLLM still (or again) serves it.
    """
    mirrored = await catalog.read_litellm_models(litellm)
    diff = await catalog.apply_mirror(session, mirrored, dry_run=dry_run)
    ended = 0
    if not dry_run:
        for model in diff.removed:
            ended += await _end(session, litellm, actor=actor, model=model, reason="model removed from LiteLLM")
        if diff.added or diff.updated or diff.removed:
            await audit.record(
                session,
                actor=actor,
                action="model.sync",
                target_type="catalog",
                target_id=None,
                after={
                    "added": [m.name for m in diff.added],
                    "updated": [m.name for m in diff.updated],
                    "removed": [m.name for m in diff.removed],
                },
            )
    log.info(
        "model.sync.done",
        dry_run=dry_run,
        added=len(diff.added),
        updated=len(diff.updated),
        removed=len(diff.removed),
    )
    return SyncOut(
        dry_run=dry_run,
        added=[m.name for m in diff.added],
        updated=[m.name for m in diff.updated],
        removed=[m.name for m in diff.removed],
        ignored_deleted=diff.ignored_deleted,
        subscriptions_ended=ended,
    )


# --------------------------------------------------------------------------- create


def _litellm_fields(
    caps: list[str],
    *,
    display_name: str | None,
    description: str | None,
    provider: str | None,
    restricted: bool,
    context_length: int | None,
    max_output_tokens: int | None,
    price_per_page: float | None,
) -> dict[str, Any]:
    info: dict[str, Any] = {"capabilities": caps, "restricted": restricted}
    mode = _MODE_FOR_PRIMARY.get(caps[0])
    if mode:
        info["mode"] = mode
    for name, value in (
        ("display_name", display_name),
        ("description", description),
        ("provider", provider),
        ("context_length", context_length),
        ("max_tokens", max_output_tokens),
        ("cost_per_page", price_per_page),
    ):
        if value is not None:
            info[name] = value
    return info


async def create_model(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, data: ModelCreateIn
) -> CatalogModel:
    """Add a model to LiteLLM (``/model/new``) and to the catalog; re-creating a deleted name restores its row."""
    caps = _capabilities(data.capabilities)
    params = dict(data.litellm_params)
    if not isinstance(params.get("model"), str) or not params["model"]:
        raise InvalidModelDefinition(
            "litellm_params.model is required (e.g. hosted_vllm/org/model)", field="litellm_params.model"
        )
    if caps[0] == "document_conversion" and (data.input_price_per_million or data.output_price_per_million):
        raise InvalidModelDefinition(
            "document conversion is priced per page, not per token", field="input_price_per_million"
        )
    existing = await repository.get_by_name(session, data.name, for_update=True)
    if existing is not None and existing.deleted_at is None:
        raise ModelExists(f"model {data.name} already exists")
    served = await catalog.read_litellm_models(litellm)
    if data.name in served:
        raise ModelExists(f"LiteLLM already serves a model named {data.name}")
    if data.input_price_per_million is not None:
        params["input_cost_per_token"] = data.input_price_per_million / PER_MILLION
    if data.output_price_per_million is not None:
        params["output_cost_per_token"] = data.output_price_per_million / PER_MILLION
    model_info = _litellm_fields(
        caps,
        display_name=data.display_name,
        description=data.description,
        provider=data.provider,
        restricted=data.restricted,
        context_length=data.context_length,
        max_output_tokens=data.max_output_tokens,
        price_per_page=data.price_per_page,
    )
    try:
        deployment = await litellm.new_model(
            NewModelRequest(model_name=data.name, litellm_params=params, model_info=model_info)
        )
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc
    model = existing or CatalogModel(id=uuid.uuid4(), name=data.name, display_name=data.name)
    model.display_name = data.display_name or data.name
    model.description = data.description
    model.provider = data.provider or catalog.mirror([deployment])[data.name].provider
    model.restricted = data.restricted
    model.capabilities = caps
    model.context_length = data.context_length
    model.max_output_tokens = data.max_output_tokens
    model.input_cost_per_token = params.get("input_cost_per_token")
    model.output_cost_per_token = params.get("output_cost_per_token")
    model.cost_per_page = data.price_per_page
    model.litellm_model_ids = [deployment.deployment_id] if deployment.deployment_id else []
    model.litellm_db_model = True
    model.available = True
    model.deleted_at = None
    if existing is None:
        repository.add(session, model)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="model.create",
        target_type="model",
        target_id=model.id,
        after=_snapshot(model),
    )
    return model


# --------------------------------------------------------------------------- update


async def update_model(  # noqa: PLR0912  one branch per optional field of the update
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, ref: str, data: ModelUpdateIn
) -> CatalogModel:
    changed = data.model_fields_set
    model = await catalog.get_model(session, ref, for_update=True)
    before = _snapshot(model)
    litellm_side = changed & {
        "capabilities",
        "context_length",
        "max_output_tokens",
        "input_price_per_million",
        "output_price_per_million",
        "price_per_page",
        "litellm_params",
    }
    if litellm_side and not model.litellm_db_model:
        raise DefinedInProxyConfig(model.name, litellm_side)
    for name in ("display_name", "description", "provider"):
        if name in changed:
            setattr(model, name, getattr(data, name) or (model.name if name == "display_name" else None))
    if "capabilities" in changed and data.capabilities is not None:
        model.capabilities = _capabilities(data.capabilities)
    if "context_length" in changed:
        model.context_length = data.context_length
    if "max_output_tokens" in changed:
        model.max_output_tokens = data.max_output_tokens
    if "price_per_page" in changed:
        model.cost_per_page = data.price_per_page
    params: dict[str, Any] = dict(data.litellm_params or {})
    if "input_price_per_million" in changed:
        value = data.input_price_per_million
        model.input_cost_per_token = value / PER_MILLION if value is not None else None
        params["input_cost_per_token"] = model.input_cost_per_token
    if "output_price_per_million" in changed:
        value = data.output_price_per_million
        model.output_cost_per_token = value / PER_MILLION if value is not None else None
        params["output_cost_per_token"] = model.output_cost_per_token
    becomes_restricted = "restricted" in changed and data.restricted is True and not model.restricted
    if "restricted" in changed and data.restricted is not None:
        model.restricted = data.restricted
    await session.flush()

    if litellm_side:
        model_info = _litellm_fields(
            list(model.capabilities),
            display_name=model.display_name,
            description=model.description,
            provider=model.provider,
            restricted=model.restricted,
            context_length=model.context_length,
            max_output_tokens=model.max_output_tokens,
            price_per_page=model.cost_per_page,
        )
        try:
            for deployment_id in model.litellm_model_ids:
                await litellm.update_model(deployment_id, litellm_params=params or None, model_info=model_info)
        except LiteLLMError as exc:
            raise upstream_error(exc) from exc
    if becomes_restricted:
        await subscriptions.suspend_for_restricted_model(session, litellm, actor=actor, model=model)
    await audit.record(
        session,
        actor=actor,
        action="model.update",
        target_type="model",
        target_id=model.id,
        before=before,
        after=_snapshot(model),
    )
    return model


# --------------------------------------------------------------------------- delete / restore


async def delete_model(
    session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, ref: str, reason: str | None = None
) -> CatalogModel:
    """Delete in LiteLLM (database-stored models), then end subscriptions and strip keys.

    A model defined in the proxy configuration cannot be removed through the API; it is
    removed from the catalog (hidden, subscriptions ended, stripped from keys) and sync keeps
    it that way.
    """
    model = await catalog.get_model(session, ref, include_hidden=True, for_update=True)
    if model.deleted_at is not None:
        return model
    before = _snapshot(model)
    if model.litellm_db_model:
        try:
            for deployment_id in model.litellm_model_ids:
                await litellm.delete_model(deployment_id)
        except LiteLLMError as exc:
            raise upstream_error(exc) from exc
    await _end(session, litellm, actor=actor, model=model, reason=reason or "model deleted by an admin")
    await audit.record(
        session,
        actor=actor,
        action="model.delete",
        target_type="model",
        target_id=model.id,
        before=before,
        after=_snapshot(model),
        reason=reason,
    )
    return model


async def restore_model(session: AsyncSession, litellm: LiteLLMAdminClient, *, actor: Actor, ref: str) -> CatalogModel:
    """Bring back a catalog-deleted model LiteLLM still serves (subscriptions stay ended)."""
    model = await catalog.get_model(session, ref, include_hidden=True, for_update=True)
    if model.deleted_at is None:
        raise NotDeleted(model.name)
    served = await catalog.read_litellm_models(litellm)
    if model.name not in served:
        raise NotServed(model.name)
    model.deleted_at = None
    catalog.apply_litellm_fields(model, served[model.name])
    await session.flush()
    await audit.record(
        session, actor=actor, action="model.restore", target_type="model", target_id=model.id, after=_snapshot(model)
    )
    return model


# --------------------------------------------------------------------------- admin console views


async def subscriber_counts(session: AsyncSession, model_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Subscriptions per model and status, for the admin list."""
    return await subscriptions.status_counts_by_model(session, model_ids)


async def impact(session: AsyncSession, ref: str) -> ModelImpactOut:
    """What a delete would end and strip: shown before an admin confirms it."""
    model = await catalog.get_model(session, ref, include_hidden=True)
    counts = (await subscriptions.status_counts_by_model(session, [model.id])).get(model.id, {})
    return ModelImpactOut(
        name=model.name,
        active_subscriptions=counts.get("active", 0),
        pending_subscriptions=counts.get("pending", 0),
        denied_subscriptions=counts.get("denied", 0),
        keys=await subscriptions.active_keys_for_model(session, model.id),
    )
