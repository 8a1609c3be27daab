"""The user's API keys: list with live spend, create, edit, rotate and revoke — through the api_keys service.

Dialogs are htmx fragments swapped into the page's ``#dialog-host`` (``static/dialogs.js`` opens
them as modal dialogs). A new or rotated key's secret exists only in the one answer that shows
it: pages are ``no-store``, the keys page turns htmx's history snapshots off, and closing the
dialog removes it from the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from litemaas.api_keys import limits as key_limits
from litemaas.api_keys import service as keys
from litemaas.api_keys.schemas import CreatedKeyOut, KeyCreateIn, KeyFormLimits, KeyOut, KeyUpdateIn
from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import KEY_LIMIT_FIELDS
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin, get_litellm_admin
from litemaas.litellm_admin.durations import parse_duration
from litemaas.subscriptions import service as subscriptions
from litemaas.subscriptions.schemas import ModelRef
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageRenderer, PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/keys", N_("API keys"), Permission.KEYS_OWN, order=30),)

KeyOwner = Annotated[PageSession, page_user(Permission.KEYS_OWN)]

# Lifetimes offered in the create dialog (those beyond the admin maximum are left out).
EXPIRY_PRESETS = ("1d", "7d", "30d", "90d", "365d")
# Fields of the create form beyond the limits; the edit form has no lifetime.
_EDIT_LIMITS = KEY_LIMIT_FIELDS
_REFRESH = {"HX-Trigger": "lm-keys-changed"}
_Form = TypeVar("_Form", KeyCreateIn, KeyUpdateIn)


def _fail(render: PageRenderer, user: PageSession, template: str, exc: LiteMaaSError, **context: Any) -> NoReturn:
    """Show ``template`` (a dialog) again with the error; the transaction rolls back."""
    raise AnsweredWith(
        render(
            template,
            user,
            status=exc.status,
            error={"status": exc.status, "code": exc.code, "field": exc.field},
            **context,
        )
    )


def _form_payload(form: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The submitted values of ``fields``: blank ones as None (the service's default)."""
    values: dict[str, Any] = {}
    for name in fields:
        raw = form.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        values[name] = text or None
    return values


def _validated(model: type[_Form], payload: dict[str, Any]) -> _Form:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        location = exc.errors()[0].get("loc") or ("form",)
        raise BadRequest("invalid form", field=str(location[0])) from None


async def _active_models(session: Session, user: PageSession) -> list[ModelRef]:
    """The models the user may put on a key: those of their active subscriptions."""
    return [s.model for s in await subscriptions.list_own(session, user.user_id) if s.status == "active"]


def _expiry_presets(limits: KeyFormLimits) -> list[str]:
    maximum = limits.settings.maximums.duration
    presets = [p for p in EXPIRY_PRESETS if maximum is None or parse_duration(p) <= parse_duration(maximum)]
    for extra in (limits.settings.defaults.duration, maximum):
        if extra is not None and extra not in presets:
            presets.append(extra)
    return sorted(presets, key=parse_duration)


async def _create_context(session: Session, user: PageSession) -> dict[str, Any]:
    limits = await keys.form_limits(session, user.user_id)
    settings = limits.settings
    return {
        "limits": limits,
        "models": await _active_models(session, user),
        "initial": key_limits.initial_values(settings),
        "presets": _expiry_presets(limits),
        "never_expires": settings.defaults.duration is None and settings.maximums.duration is None,
    }


async def _edit_context(session: Session, user: PageSession, key: KeyOut) -> dict[str, Any]:
    limits = await keys.form_limits(session, user.user_id)
    models = await _active_models(session, user)
    offered = {m.name for m in models}
    # Models still on the key but no longer subscribed stay listed, so saving does not drop them silently.
    lapsed = [name for name in key.models if name not in offered]
    return {"key": key, "limits": limits, "models": models, "lapsed": lapsed}


async def _listing(session: Session, litellm: OptionalLiteLLMAdmin, user: PageSession) -> dict[str, Any]:
    listing, _ = await keys.list_keys(session, litellm, user_id=user.user_id)
    return {"keys": listing.items, "usage_available": listing.usage_available, "now": utcnow()}


@router.get("/keys")
async def keys_page(user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin) -> HTMLResponse:
    return render("keys/keys.html", user, **await _listing(session, litellm, user))


@router.get("/keys/table")
async def keys_table(user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin) -> HTMLResponse:
    return render("keys/_table.html", user, **await _listing(session, litellm, user))


@router.get("/keys/new")
async def create_dialog(user: KeyOwner, render: Render, session: Session) -> HTMLResponse:
    return render("keys/_create.html", user, values={}, error=None, **await _create_context(session, user))


@router.post("/keys")
async def create_key(
    request: Request, user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> HTMLResponse:
    form = await request.form()
    context = await _create_context(session, user)
    values = {
        **_form_payload(form, ("alias", *key_limits.LIMIT_FIELDS)),
        "models": [m for m in form.getlist("models") if isinstance(m, str)],
    }
    try:
        data = _validated(KeyCreateIn, {k: v for k, v in values.items() if v is not None})
        created = await keys.create_key(
            session, get_litellm_admin(litellm), actor=user.principal, user_id=user.user_id, data=data
        )
    except LiteMaaSError as exc:
        _fail(render, user, "keys/_create.html", exc, values=values, **context)
    return _secret_dialog(render, user, created, rotated=False)


def _secret_dialog(render: PageRenderer, user: PageSession, created: CreatedKeyOut, *, rotated: bool) -> HTMLResponse:
    # The only answer that ever carries the secret: no-store like every page, never stored here.
    return render("keys/_secret.html", user, created=created, rotated=rotated, headers=_REFRESH)


async def _own_key(session: Session, litellm: OptionalLiteLLMAdmin, user: PageSession, key_id: uuid.UUID) -> KeyOut:
    """The user's own key (another user's key is "not found", as in the API), with live spend."""
    # Ownership first: an unknown or foreign key is a 404 even when LiteLLM is not reachable.
    await keys.get_key(session, key_id, owner_id=user.user_id)
    return await keys.get_key_view(session, get_litellm_admin(litellm), key_id, owner_id=user.user_id)


@router.get("/keys/{key_id}/edit")
async def edit_dialog(
    key_id: uuid.UUID, user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> HTMLResponse:
    key = await _own_key(session, litellm, user, key_id)
    return render("keys/_edit.html", user, values=None, error=None, **await _edit_context(session, user, key))


def _changes(key: KeyOut, submitted: dict[str, Any], models: list[str]) -> dict[str, Any]:
    """Only what the user changed: an unchanged limit is not re-checked against a lowered maximum."""
    typed = _validated(KeyUpdateIn, {k: v for k, v in submitted.items() if v is not None})
    changes: dict[str, Any] = {}
    if typed.alias is not None and typed.alias != key.alias:
        changes["alias"] = typed.alias
    if sorted(models) != sorted(key.models):
        changes["models"] = models
    for name in _EDIT_LIMITS:
        value = getattr(typed, name)
        if value != getattr(key, name):
            changes[name] = value
    return changes


@router.post("/keys/{key_id}/edit")
async def edit_key(
    key_id: uuid.UUID,
    request: Request,
    user: KeyOwner,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> Response:
    key = await _own_key(session, litellm, user, key_id)
    context = await _edit_context(session, user, key)
    form = await request.form()
    submitted = _form_payload(form, ("alias", *_EDIT_LIMITS))
    models = [m for m in form.getlist("models") if isinstance(m, str)]
    try:
        changes = _changes(key, submitted, models)
        if changes:
            await keys.update_key(
                session,
                get_litellm_admin(litellm),
                actor=user.principal,
                key_id=key_id,
                owner_id=user.user_id,
                data=_validated(KeyUpdateIn, changes),
            )
    except LiteMaaSError as exc:
        _fail(render, user, "keys/_edit.html", exc, values={**submitted, "models": models}, **context)
    return HTMLResponse("", headers=_REFRESH)


@router.get("/keys/{key_id}/rotate")
async def rotate_dialog(
    key_id: uuid.UUID, user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> HTMLResponse:
    key = await _own_key(session, litellm, user, key_id)
    return render("keys/_confirm.html", user, key=key, action="rotate", error=None)


@router.post("/keys/{key_id}/rotate")
async def rotate_key(
    key_id: uuid.UUID, user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> HTMLResponse:
    key = await _own_key(session, litellm, user, key_id)
    try:
        created = await keys.rotate_key(
            session, get_litellm_admin(litellm), actor=user.principal, key_id=key_id, owner_id=user.user_id
        )
    except LiteMaaSError as exc:
        _fail(render, user, "keys/_confirm.html", exc, key=key, action="rotate")
    return _secret_dialog(render, user, created, rotated=True)


@router.get("/keys/{key_id}/revoke")
async def revoke_dialog(
    key_id: uuid.UUID, user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> HTMLResponse:
    key = await _own_key(session, litellm, user, key_id)
    return render("keys/_confirm.html", user, key=key, action="revoke", error=None)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(
    key_id: uuid.UUID, user: KeyOwner, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> Response:
    key = await _own_key(session, litellm, user, key_id)
    try:
        await keys.revoke_key(
            session, get_litellm_admin(litellm), actor=user.principal, key_id=key_id, owner_id=user.user_id
        )
    except LiteMaaSError as exc:
        _fail(render, user, "keys/_confirm.html", exc, key=key, action="revoke")
    return HTMLResponse("", headers=_REFRESH)
