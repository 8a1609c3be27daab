"""Catalog routes: the model list for users, model administration for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.db import Session
from litemaas.dependencies import AppSettings
from litemaas.litellm_admin.dependencies import LiteLLMAdmin
from litemaas.models.catalog_model import CatalogModel
from litemaas.models_catalog import capabilities, connection, lifecycle
from litemaas.models_catalog import service as catalog
from litemaas.models_catalog.schemas import (
    PER_MILLION,
    AdminModelOut,
    CapabilityOut,
    ConnectionTestIn,
    ConnectionTestOut,
    ModelCreateIn,
    ModelImpactOut,
    ModelOut,
    ModelUpdateIn,
    PricingOut,
    SyncOut,
)

router = APIRouter(tags=["models"])


def _per_million(value: float | None) -> float | None:
    return round(value * PER_MILLION, 6) if value is not None else None


def model_out(model: CatalogModel) -> ModelOut:
    token_priced = capabilities.has_token_prices(model.capabilities)
    return ModelOut(
        id=model.id,
        name=model.name,
        display_name=model.display_name,
        description=model.description,
        provider=model.provider,
        context_length=model.context_length if token_priced else None,
        max_output_tokens=model.max_output_tokens if token_priced else None,
        capabilities=[CapabilityOut.model_validate(c) for c in capabilities.labels(model.capabilities)],
        primary_capability=model.primary_capability,
        pricing=PricingOut(
            input_per_million_tokens=_per_million(model.input_cost_per_token) if token_priced else None,
            output_per_million_tokens=_per_million(model.output_cost_per_token) if token_priced else None,
            per_page=model.cost_per_page,
        ),
        restricted=model.restricted,
        available=model.is_live,
    )


def admin_model_out(model: CatalogModel, counts: dict[str, int] | None = None) -> AdminModelOut:
    counts = counts or {}
    return AdminModelOut(
        subscribers=counts.get("active", 0),
        pending_subscriptions=counts.get("pending", 0),
        **model_out(model).model_dump(),
        deleted_at=model.deleted_at,
        litellm_model_ids=list(model.litellm_model_ids),
        editable_in_litellm=model.litellm_db_model,
        synced_at=model.synced_at,
        created_at=model.created_at,
        updated_at=model.updated_at,
    )


@router.get("/models", response_model=list[ModelOut], dependencies=[require(Permission.MODELS_READ)])
async def list_models(
    session: Session,
    capability: Annotated[str | None, Query(max_length=32)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> list[ModelOut]:
    return [model_out(m) for m in await catalog.list_models(session, capability=capability, search=search)]


@router.get("/models/{model_ref:path}", response_model=ModelOut, dependencies=[require(Permission.MODELS_READ)])
async def get_model(session: Session, model_ref: str) -> ModelOut:
    return model_out(await catalog.get_model(session, model_ref))


@router.get("/admin/models", response_model=list[AdminModelOut], dependencies=[require(Permission.ADMIN_READ)])
async def admin_list_models(
    session: Session,
    capability: Annotated[str | None, Query(max_length=32)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> list[AdminModelOut]:
    models = await catalog.list_models(session, include_hidden=True, capability=capability, search=search)
    counts = await lifecycle.subscriber_counts(session, [m.id for m in models])
    return [admin_model_out(m, counts.get(m.id)) for m in models]


@router.post("/admin/models/sync", response_model=SyncOut)
async def sync_models(
    session: Session,
    litellm: LiteLLMAdmin,
    principal: Annotated[Principal, require(Permission.MODELS_WRITE)],
    dry_run: bool = False,
) -> SyncOut:
    return await lifecycle.sync(session, litellm, actor=principal, dry_run=dry_run)


@router.post("/admin/models/test-connection", response_model=ConnectionTestOut)
async def test_model_connection(
    body: ConnectionTestIn,
    settings: AppSettings,
    principal: Annotated[Principal, require(Permission.MODELS_WRITE)],
) -> ConnectionTestOut:
    """Reach the model server (``/models``, else ``/health``) server-side; SSRF rules apply, nothing is echoed."""
    return await connection.run(body, settings)


@router.get(
    "/admin/model-impact/{model_ref:path}", response_model=ModelImpactOut, dependencies=[require(Permission.ADMIN_READ)]
)
async def model_impact(session: Session, model_ref: str) -> ModelImpactOut:
    """Subscriptions and keys a delete of the model would end and strip."""
    return await lifecycle.impact(session, model_ref)


@router.post("/admin/models", response_model=AdminModelOut, status_code=201)
async def create_model(
    session: Session,
    litellm: LiteLLMAdmin,
    body: ModelCreateIn,
    principal: Annotated[Principal, require(Permission.MODELS_WRITE)],
) -> AdminModelOut:
    return admin_model_out(await lifecycle.create_model(session, litellm, actor=principal, data=body))


@router.get(
    "/admin/models/{model_ref:path}", response_model=AdminModelOut, dependencies=[require(Permission.ADMIN_READ)]
)
async def admin_get_model(session: Session, model_ref: str) -> AdminModelOut:
    model = await catalog.get_model(session, model_ref, include_hidden=True)
    counts = await lifecycle.subscriber_counts(session, [model.id])
    return admin_model_out(model, counts.get(model.id))


@router.patch("/admin/models/{model_ref:path}", response_model=AdminModelOut)
async def update_model(
    session: Session,
    litellm: LiteLLMAdmin,
    model_ref: str,
    body: ModelUpdateIn,
    principal: Annotated[Principal, require(Permission.MODELS_WRITE)],
) -> AdminModelOut:
    return admin_model_out(await lifecycle.update_model(session, litellm, actor=principal, ref=model_ref, data=body))


@router.delete("/admin/models/{model_ref:path}", response_model=AdminModelOut)
async def delete_model(
    session: Session,
    litellm: LiteLLMAdmin,
    model_ref: str,
    principal: Annotated[Principal, require(Permission.MODELS_WRITE)],
    reason: Annotated[str | None, Query(max_length=1000)] = None,
) -> AdminModelOut:
    return admin_model_out(
        await lifecycle.delete_model(session, litellm, actor=principal, ref=model_ref, reason=reason)
    )


@router.post("/admin/models/{model_ref:path}/restore", response_model=AdminModelOut)
async def restore_model(
    session: Session,
    litellm: LiteLLMAdmin,
    model_ref: str,
    principal: Annotated[Principal, require(Permission.MODELS_WRITE)],
) -> AdminModelOut:
    return admin_model_out(await lifecycle.restore_model(session, litellm, actor=principal, ref=model_ref))
