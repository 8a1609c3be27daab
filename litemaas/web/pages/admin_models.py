"""Admin console: models — list, create/edit by model type, test connection, sync, delete/restore.

Every write goes through the same services as ``/api/v1/admin/models`` (``lifecycle``,
``connection``). Forms are plain HTML forms (they work without scripts); the test-connection
button posts the form with htmx and shows only the verdict. A read-only admin sees every
control disabled, and the write routes refuse them (``MODELS_WRITE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import SecretStr, ValidationError
from starlette.datastructures import FormData

from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin, get_litellm_admin
from litemaas.models_catalog import connection, lifecycle
from litemaas.models_catalog import service as catalog
from litemaas.models_catalog.router import admin_model_out
from litemaas.models_catalog.schemas import AdminModelOut, ConnectionTestIn, ModelCreateIn, ModelUpdateIn
from litemaas.settings_admin import service as settings_admin
from litemaas.web.dependencies import PortalSettings, Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.pages.catalog import CAPABILITY_LABELS, LABEL_COLOURS
from litemaas.web.rendering import PageRenderer, PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/admin/models", N_("Models"), Permission.ADMIN_READ, order=40, group=N_("Administration")),)

Reader = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
Writer = Annotated[PageSession, page_user(Permission.MODELS_WRITE)]

MODEL_TYPES = ("chat", "embeddings", "document_conversion", "safety")
# Additive capabilities offered per primary one (tokenize needs a vLLM /tokenize).
EXTRAS = {
    "chat": ("tokenize", "vision", "function_calling"),
    "embeddings": (),
    "document_conversion": (),
    "safety": (),
}
_TEXT_FIELDS = ("name", "display_name", "description", "provider", "api_base", "backend_model")
_NUMBER_FIELDS = (
    "context_length",
    "max_output_tokens",
    "input_price_per_million",
    "output_price_per_million",
    "price_per_page",
)


def _common(user: PageSession) -> dict[str, Any]:
    return {
        "colours": LABEL_COLOURS,
        "capability_labels": CAPABILITY_LABELS,
        "read_only": Permission.MODELS_WRITE not in user.principal.permissions,
        "model_types": MODEL_TYPES,
        "extras": EXTRAS,
    }


def _model_type(value: str | None) -> str:
    return value if value in MODEL_TYPES else "chat"


async def _listing(session: Session) -> list[AdminModelOut]:
    models = await catalog.list_models(session, include_hidden=True)
    counts = await lifecycle.subscriber_counts(session, [m.id for m in models])
    return [admin_model_out(m, counts.get(m.id)) for m in models]


@router.get("/admin/models")
async def models_page(
    user: Reader,
    render: Render,
    session: Session,
    settings: PortalSettings,
    done: Annotated[str | None, Query(max_length=32)] = None,
    model: Annotated[str | None, Query(max_length=255)] = None,
) -> HTMLResponse:
    portal = await settings_admin.portal_values(session, settings)
    return render(
        "admin_models/models.html",
        user,
        models=await _listing(session),
        done=done,
        done_model=model,
        sync=None,
        currency_symbol=portal.currency_symbol,
        **_common(user),
    )


@router.post("/admin/models/sync")
async def sync_models(
    user: Writer, render: Render, session: Session, litellm: OptionalLiteLLMAdmin, settings: PortalSettings
) -> HTMLResponse:
    result = await lifecycle.sync(session, get_litellm_admin(litellm), actor=user.principal)
    await session.flush()
    portal = await settings_admin.portal_values(session, settings)
    return render(
        "admin_models/models.html",
        user,
        models=await _listing(session),
        done=None,
        done_model=None,
        sync=result,
        currency_symbol=portal.currency_symbol,
        **_common(user),
    )


# --------------------------------------------------------------------------- form


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in (*_TEXT_FIELDS, *_NUMBER_FIELDS):
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) else ""
    values["extras"] = [c for c in form.getlist("extras") if isinstance(c, str)]
    values["restricted"] = form.get("restricted") == "on"
    raw_type = form.get("model_type")
    values["model_type"] = _model_type(raw_type if isinstance(raw_type, str) else None)
    raw_key = form.get("api_key")
    values["api_key"] = raw_key if isinstance(raw_key, str) else ""
    return values


def _capabilities(values: Mapping[str, Any]) -> list[str]:
    primary = values["model_type"]
    return [primary, *[c for c in values["extras"] if c in EXTRAS[primary]]]


def _numbers(values: Mapping[str, Any]) -> dict[str, Any]:
    """The number fields of the model's type (document conversion is priced per page, nothing else)."""
    if values["model_type"] == "document_conversion":
        allowed: tuple[str, ...] = ("price_per_page",)
    else:
        allowed = tuple(n for n in _NUMBER_FIELDS if n != "price_per_page")
    return {name: values[name] for name in allowed if values[name]}


def _litellm_params(values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if values["backend_model"] or creating:
        params["model"] = values["backend_model"]
    if values["api_base"] or creating:
        params["api_base"] = values["api_base"]
    # Credentials go to LiteLLM (which stores them encrypted) and are never shown again:
    # a blank field keeps the stored one.
    if values["api_key"]:
        params["api_key"] = values["api_key"]
    return params


def _validated(model: type[ModelCreateIn] | type[ModelUpdateIn], payload: dict[str, Any]) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        location = exc.errors()[0].get("loc") or ("form",)
        field = str(location[0])
        if field == "litellm_params":
            field = "api_base"
        raise BadRequest("invalid form", field=field) from None


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """The values sent back into the form: never the credential."""
    return {**values, "api_key": ""}


def _form(
    render: PageRenderer,
    user: PageSession,
    *,
    model: AdminModelOut | None,
    values: dict[str, Any],
    error: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        "admin_models/form.html",
        user,
        status=status,
        model=model,
        values=_shown(values),
        error=error,
        **_common(user),
    )


def _fail(render: PageRenderer, user: PageSession, exc: LiteMaaSError, **context: Any) -> AnsweredWith:
    error = {"status": exc.status, "code": exc.code, "field": exc.field}
    return AnsweredWith(_form(render, user, error=error, status=exc.status, **context))


def _blank(model_type: str) -> dict[str, Any]:
    return {
        **dict.fromkeys((*_TEXT_FIELDS, *_NUMBER_FIELDS), ""),
        "extras": [],
        "restricted": False,
        "model_type": model_type,
        "api_key": "",
    }


@router.get("/admin/models/new")
async def new_model_form(
    user: Reader, render: Render, model_type: Annotated[str | None, Query(alias="type", max_length=32)] = None
) -> HTMLResponse:
    return _form(render, user, model=None, values=_blank(_model_type(model_type)))


@router.post("/admin/models/new")
async def create_model(
    request: Request, user: Writer, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> Response:
    values = _form_values(await request.form())
    payload: dict[str, Any] = {
        "name": values["name"],
        "litellm_params": _litellm_params(values, creating=True),
        "display_name": values["display_name"] or None,
        "description": values["description"] or None,
        "provider": values["provider"] or None,
        "capabilities": _capabilities(values),
        "restricted": values["restricted"],
        **_numbers(values),
    }
    try:
        if not values["api_base"]:
            raise BadRequest("the backend URL is required", field="api_base")
        if not values["backend_model"]:
            raise BadRequest("the backend model name is required", field="backend_model")
        data = _validated(ModelCreateIn, payload)
        created = await lifecycle.create_model(session, get_litellm_admin(litellm), actor=user.principal, data=data)
    except LiteMaaSError as exc:
        raise _fail(render, user, exc, model=None, values=values) from None
    return RedirectResponse(f"/admin/models?{urlencode({'done': 'created', 'model': created.name})}", 303)


def _edit_values(model: AdminModelOut) -> dict[str, Any]:
    values = _blank(model.primary_capability)
    values.update(
        name=model.name,
        display_name=model.display_name,
        description=model.description or "",
        provider=model.provider or "",
        restricted=model.restricted,
        extras=[c.name for c in model.capabilities if not c.primary],
        context_length=model.context_length or "",
        max_output_tokens=model.max_output_tokens or "",
        input_price_per_million=model.pricing.input_per_million_tokens
        if model.pricing.input_per_million_tokens is not None
        else "",
        output_price_per_million=model.pricing.output_per_million_tokens
        if model.pricing.output_per_million_tokens is not None
        else "",
        price_per_page=model.pricing.per_page if model.pricing.per_page is not None else "",
    )
    return values


async def _admin_model(session: Session, ref: str) -> AdminModelOut:
    model = await catalog.get_model(session, ref, include_hidden=True)
    counts = await lifecycle.subscriber_counts(session, [model.id])
    return admin_model_out(model, counts.get(model.id))


@router.get("/admin/models/{model_ref:path}/edit")
async def edit_model_form(model_ref: str, user: Reader, render: Render, session: Session) -> HTMLResponse:
    model = await _admin_model(session, model_ref)
    return _form(render, user, model=model, values=_edit_values(model))


def _changes(model: AdminModelOut, values: dict[str, Any]) -> dict[str, Any]:
    """Metadata always; LiteLLM-side fields only when they changed (config models cannot change them)."""
    changes: dict[str, Any] = {
        "display_name": values["display_name"] or None,
        "description": values["description"] or None,
        "provider": values["provider"] or None,
        "restricted": values["restricted"],
    }
    if not model.editable_in_litellm:
        return changes
    before = _edit_values(model)
    caps = _capabilities({**values, "model_type": model.primary_capability})
    if caps != [c.name for c in model.capabilities]:
        changes["capabilities"] = caps
    for name in _NUMBER_FIELDS:
        if str(values[name]) != str(before[name]):
            changes[name] = values[name] or None
    params = _litellm_params(values, creating=False)
    if params:
        changes["litellm_params"] = params
    return changes


@router.post("/admin/models/{model_ref:path}/edit")
async def edit_model(
    model_ref: str,
    request: Request,
    user: Writer,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> Response:
    model = await _admin_model(session, model_ref)
    values = {**_form_values(await request.form()), "name": model.name, "model_type": model.primary_capability}
    try:
        data = _validated(ModelUpdateIn, _changes(model, values))
        await lifecycle.update_model(
            session, get_litellm_admin(litellm), actor=user.principal, ref=model.name, data=data
        )
    except LiteMaaSError as exc:
        raise _fail(render, user, exc, model=model, values=values) from None
    return RedirectResponse(f"/admin/models?{urlencode({'done': 'updated', 'model': model.name})}", 303)


@router.post("/admin/models/test-connection")
async def test_connection(request: Request, user: Writer, render: Render, settings: PortalSettings) -> HTMLResponse:
    """The form's backend URL, model and key, tried server-side; the verdict only."""
    values = _form_values(await request.form())
    error: dict[str, Any] | None = None
    verdict = None
    try:
        data = ConnectionTestIn(
            api_base=values["api_base"],
            model=values["backend_model"],
            api_key=SecretStr(values["api_key"]) if values["api_key"] else None,
            model_type=values["model_type"],
        )
        verdict = await connection.run(data, settings)
    except ValidationError as exc:
        location = exc.errors()[0].get("loc") or ("api_base",)
        field = "backend_model" if location[0] == "model" else str(location[0])
        error = {"status": 400, "code": "bad_request", "field": field}
    except LiteMaaSError as exc:
        error = {"status": exc.status, "code": exc.code, "field": exc.field}
    return render("admin_models/_connection.html", user, verdict=verdict, error=error)


# --------------------------------------------------------------------------- delete / restore


@router.get("/admin/models/{model_ref:path}/delete")
async def delete_confirm(model_ref: str, user: Reader, render: Render, session: Session) -> HTMLResponse:
    model = await _admin_model(session, model_ref)
    impact = await lifecycle.impact(session, model.name)
    return render("admin_models/delete.html", user, model=model, impact=impact, error=None, **_common(user))


@router.post("/admin/models/{model_ref:path}/delete")
async def delete_model(
    model_ref: str, request: Request, user: Writer, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> Response:
    model = await _admin_model(session, model_ref)
    reason = (await request.form()).get("reason")
    text = reason.strip()[:1000] if isinstance(reason, str) and reason.strip() else None
    await lifecycle.delete_model(session, get_litellm_admin(litellm), actor=user.principal, ref=model.name, reason=text)
    return RedirectResponse(f"/admin/models?{urlencode({'done': 'deleted', 'model': model.name})}", 303)


@router.post("/admin/models/{model_ref:path}/restore")
async def restore_model(model_ref: str, user: Writer, session: Session, litellm: OptionalLiteLLMAdmin) -> Response:
    model = await lifecycle.restore_model(session, get_litellm_admin(litellm), actor=user.principal, ref=model_ref)
    return RedirectResponse(f"/admin/models?{urlencode({'done': 'restored', 'model': model.name})}", 303)


def model_path(name: str) -> str:
    """A model's name as it goes into a console URL (names may hold ``/`` and ``:``)."""
    return quote(name, safe="/:")
