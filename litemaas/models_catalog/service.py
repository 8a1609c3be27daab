"""Catalog rules: lookups, the mirror of LiteLLM's models, catalog metadata.

Cascades to subscriptions and keys (restriction, deletion) live in ``lifecycle``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.kit.bounds import NAME_LENGTH, finite_or_none, int32_or_none
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMAdminClient, LiteLLMError, ModelDeployment
from litemaas.models.catalog_model import CatalogModel
from litemaas.models_catalog import capabilities, repository
from litemaas.models_catalog.errors import EmptyMirror, ModelNotFound
from litemaas.upstream import upstream_error

log = structlog.get_logger("litemaas.models_catalog")

_PROVIDER_LENGTH = 64  # catalog_models.provider


async def list_models(
    session: AsyncSession,
    *,
    include_hidden: bool = False,
    capability: str | None = None,
    search: str | None = None,
    provider: str | None = None,
) -> Sequence[CatalogModel]:
    return await repository.list_models(
        session, include_hidden=include_hidden, capability=capability, search=search, provider=provider
    )


async def get_model(
    session: AsyncSession, ref: str | uuid.UUID, *, include_hidden: bool = False, for_update: bool = False
) -> CatalogModel:
    """A model by id or by LiteLLM name; hidden (deleted/unavailable) ones only when asked."""
    model: CatalogModel | None = None
    model_id = ref if isinstance(ref, uuid.UUID) else _as_uuid(ref)
    if model_id is not None:
        model = await repository.get_by_id(session, model_id, for_update=for_update)
    if model is None and isinstance(ref, str):
        model = await repository.get_by_name(session, ref, for_update=for_update)
    if model is None or (not include_hidden and not model.is_live):
        raise ModelNotFound(ref)
    return model


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------- LiteLLM mirror


@dataclass(frozen=True, slots=True)
class MirroredModel:
    """What LiteLLM says about one public model name (all its deployments)."""

    name: str
    deployment_ids: list[str]
    db_model: bool
    capabilities: list[str]
    display_name: str | None
    description: str | None
    provider: str | None
    context_length: int | None
    max_output_tokens: int | None
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    cost_per_page: float | None
    restricted: bool


# What LiteLLM reports is stored in our columns: a value they cannot hold (a context length
# beyond an integer, an infinite price, a 300-character provider) counts as unknown, so one odd
# deployment never makes every sync fail.


def _number(*values: Any) -> float | None:
    for value in values:
        if isinstance(value, bool) or value is None:
            continue
        try:
            return finite_or_none(float(value))
        except (TypeError, ValueError, OverflowError):
            continue
    return None


def _integer(*values: Any) -> int | None:
    number = _number(*values)
    return int32_or_none(int(number)) if number is not None else None


def _text(value: Any, length: int) -> str | None:
    return str(value)[:length] if value else None


def _provider(params: Mapping[str, Any], info: Mapping[str, Any]) -> str | None:
    if info.get("provider"):
        return _text(info["provider"], _PROVIDER_LENGTH)
    if params.get("custom_llm_provider"):
        return _text(params["custom_llm_provider"], _PROVIDER_LENGTH)
    model = str(params.get("model") or "")
    return _text(model.split("/", 1)[0], _PROVIDER_LENGTH) if "/" in model else None


def mirror(deployments: Sequence[ModelDeployment]) -> dict[str, MirroredModel]:
    """Group LiteLLM deployments by public name; the first deployment supplies the metadata."""
    grouped: dict[str, list[ModelDeployment]] = {}
    for deployment in deployments:
        grouped.setdefault(deployment.model_name, []).append(deployment)
    result: dict[str, MirroredModel] = {}
    for name, group in grouped.items():
        if len(name) > NAME_LENGTH:
            log.warning("model.mirror.name_too_long", length=len(name))
            continue
        first = group[0]
        info, params = first.model_info, first.litellm_params
        result[name] = MirroredModel(
            name=name,
            deployment_ids=[d.deployment_id for d in group if d.deployment_id],
            db_model=all(d.stored_in_db for d in group),
            capabilities=capabilities.from_model_info(info),
            display_name=_text(info.get("display_name"), NAME_LENGTH),
            description=str(info["description"]) if info.get("description") else None,
            provider=_provider(params, info),
            context_length=_integer(info.get("context_length"), info.get("max_input_tokens")),
            max_output_tokens=_integer(info.get("max_output_tokens"), info.get("max_tokens")),
            input_cost_per_token=_number(params.get("input_cost_per_token"), info.get("input_cost_per_token")),
            output_cost_per_token=_number(params.get("output_cost_per_token"), info.get("output_cost_per_token")),
            cost_per_page=_number(info.get("cost_per_page"), params.get("ocr_cost_per_page")),
            restricted=info.get("restricted") is True or info.get("litemaas_restricted") is True,
        )
    return result


def apply_litellm_fields(model: CatalogModel, mirrored: MirroredModel) -> bool:
    """Copy LiteLLM-owned fields onto ``model``; True when something changed."""
    values: dict[str, Any] = {
        "litellm_model_ids": mirrored.deployment_ids,
        "litellm_db_model": mirrored.db_model,
        "capabilities": mirrored.capabilities,
        "context_length": mirrored.context_length,
        "max_output_tokens": mirrored.max_output_tokens,
        "input_cost_per_token": mirrored.input_cost_per_token,
        "output_cost_per_token": mirrored.output_cost_per_token,
        "cost_per_page": mirrored.cost_per_page,
        "available": True,
    }
    changed = False
    for name, value in values.items():
        if getattr(model, name) != value:
            setattr(model, name, value)
            changed = True
    model.synced_at = utcnow()
    return changed


def new_catalog_row(mirrored: MirroredModel) -> CatalogModel:
    model = CatalogModel(
        name=mirrored.name,
        display_name=mirrored.display_name or mirrored.name,
        description=mirrored.description,
        provider=mirrored.provider,
        restricted=mirrored.restricted,
    )
    apply_litellm_fields(model, mirrored)
    return model


@dataclass(slots=True)
class MirrorDiff:
    """How the catalog differs from LiteLLM, before cascades."""

    added: list[CatalogModel] = field(default_factory=list)
    updated: list[CatalogModel] = field(default_factory=list)
    # Live here, gone from LiteLLM: to be marked deleted (with cascades).
    removed: list[CatalogModel] = field(default_factory=list)
    # Present in LiteLLM but deleted in the catalog: stays deleted (sync never resurrects).
    ignored_deleted: list[str] = field(default_factory=list)


async def read_litellm_models(litellm: LiteLLMAdminClient) -> dict[str, MirroredModel]:
    try:
        return mirror(await litellm.model_info())
    except LiteLLMError as exc:
        raise upstream_error(exc) from exc


async def apply_mirror(
    session: AsyncSession, mirrored: Mapping[str, MirroredModel], *, dry_run: bool = False
) -> MirrorDiff:
    """Insert new models and refresh LiteLLM-owned fields; list the ones LiteLLM no longer has."""
    diff = MirrorDiff()
    await repository.lock_catalog(session)
    existing = {m.name: m for m in await repository.all_models_for_update(session)}
    live_here = [m for m in existing.values() if m.deleted_at is None]
    if not mirrored and live_here:
        # An empty answer is far likelier a broken proxy config than a deliberate wipe.
        raise EmptyMirror()
    for name, item in mirrored.items():
        model = existing.get(name)
        if model is None:
            model = new_catalog_row(item)
            if not dry_run:
                repository.add(session, model)
            diff.added.append(model)
        elif model.deleted_at is not None:
            diff.ignored_deleted.append(name)
        elif dry_run:
            if _differs(model, item):
                diff.updated.append(model)
        elif apply_litellm_fields(model, item):
            diff.updated.append(model)
    diff.removed = [m for m in live_here if m.name not in mirrored]
    if not dry_run:
        await session.flush()
    return diff


def _differs(model: CatalogModel, item: MirroredModel) -> bool:
    probe = CatalogModel(name=model.name, display_name=model.display_name)
    for name in (
        "litellm_model_ids",
        "litellm_db_model",
        "capabilities",
        "context_length",
        "max_output_tokens",
        "input_cost_per_token",
        "output_cost_per_token",
        "cost_per_page",
        "available",
    ):
        setattr(probe, name, getattr(model, name))
    return apply_litellm_fields(probe, item)


def mark_deleted(model: CatalogModel) -> None:
    model.deleted_at = utcnow()
    model.available = False
