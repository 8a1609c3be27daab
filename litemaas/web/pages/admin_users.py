"""Admin users: ``/admin/users`` (search, filters, paging, defaults for new users, apply to all) and
``/admin/users/{id}`` (role, activation, limits and spend, subscriptions, keys).

Every write goes through the same service as the JSON API and needs the area's write permission
(``users:write``, ``settings:write``, ``subscriptions:decide``, ``keys:admin_write``); a read-only
admin sees every control disabled. Filters are the query string, so a view can be bookmarked. A key
created or rotated for a user is shown once, in a dialog, like on the user's own keys page.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from litemaas.api_keys import service as keys
from litemaas.api_keys.schemas import KeyCreateIn, KeyUpdateIn
from litemaas.auth.permissions import Permission, Role
from litemaas.db import Session
from litemaas.errors import BadRequest, LiteMaaSError
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin, get_litellm_admin
from litemaas.models_catalog import service as catalog
from litemaas.settings_admin import service as settings_admin
from litemaas.subscriptions import service as subscriptions
from litemaas.users import limits, service
from litemaas.users.cache import UserCache
from litemaas.users.schemas import UserDefaults, UserLimitsIn, UserOut
from litemaas.web.dependencies import Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageRenderer, PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/admin/users", N_("Users"), Permission.ADMIN_READ, order=30, group=N_("Administration")),)

AdminViewer = Annotated[PageSession, page_user(Permission.ADMIN_READ)]
UserEditor = Annotated[PageSession, page_user(Permission.USERS_WRITE)]
SettingsEditor = Annotated[PageSession, page_user(Permission.SETTINGS_WRITE)]
Granter = Annotated[PageSession, page_user(Permission.SUBSCRIPTIONS_DECIDE)]
KeyAdmin = Annotated[PageSession, page_user(Permission.KEYS_ADMIN_WRITE)]

PAGE_SIZE = 50
LIMIT_FIELDS = tuple(UserLimitsIn.model_fields)
_REFRESH = {"HX-Trigger": "lm-keys-changed"}


def _blank_none(form: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in fields:
        raw = form.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        values[name] = text or None
    return values


def _validated(model: Any, payload: dict[str, Any]) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        location = exc.errors()[0].get("loc") or ("form",)
        raise BadRequest(f"{location[0]}: {exc.errors()[0]['msg']}", field=str(location[0])) from None


def _capabilities(user: PageSession) -> dict[str, bool]:
    return {
        "users": user.can(Permission.USERS_WRITE),
        "settings": user.can(Permission.SETTINGS_WRITE),
        "grant": user.can(Permission.SUBSCRIPTIONS_DECIDE),
        "keys": user.can(Permission.KEYS_ADMIN_WRITE),
    }


# --------------------------------------------------------------------------- list


async def _list_context(
    session: Session,
    user: PageSession,
    *,
    q: str | None,
    role: Role | None,
    active: bool | None,
    provider: str | None,
    offset: int,
) -> dict[str, Any]:
    rows, total = await service.list_users(
        session, search=q, role=role, active=active, provider=provider, limit=PAGE_SIZE, offset=offset
    )
    filters = {
        "q": q or "",
        "role": role.value if role else "",
        "active": "" if active is None else ("true" if active else "false"),
        "provider": provider or "",
    }
    query = [(k, v) for k, v in filters.items() if v]

    def page_link(start: int) -> str:
        return "/admin/users?" + urlencode([*query, ("offset", str(start))])

    return {
        "users": [UserOut.model_validate(u) for u in rows],
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "filters": filters,
        "providers": await service.identity_providers(session),
        "roles": [r.value for r in Role],
        "previous": page_link(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        "next": page_link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        "defaults": await settings_admin.get_user_defaults(session),
        "can": _capabilities(user),
    }


@router.get("/admin/users")
async def users_page(
    user: AdminViewer,
    render: Render,
    session: Session,
    q: Annotated[str | None, Query(max_length=200)] = None,
    role: Annotated[str | None, Query(max_length=32)] = None,
    active: Annotated[str | None, Query(max_length=8)] = None,
    provider: Annotated[str | None, Query(max_length=32)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    try:
        role_filter = Role(role) if role else None
    except ValueError:
        raise BadRequest(f"role: unknown role {role!r}", field="role") from None
    if active not in (None, "", "true", "false"):
        raise BadRequest("active: expected true or false", field="active")
    context = await _list_context(
        session,
        user,
        q=(q or "").strip() or None,
        role=role_filter,
        active=None if not active else active == "true",
        provider=provider or None,
        offset=offset,
    )
    return render("admin_users/users.html", user, saved=saved, defaults_error=None, **context)


@router.post("/admin/users/defaults")
async def save_defaults(request: Request, user: SettingsEditor, render: Render, session: Session) -> Response:
    form = await request.form()
    values = _blank_none(form, tuple(UserDefaults.model_fields))
    try:
        defaults = _validated(UserDefaults, values)
        await settings_admin.update_user_defaults(session, actor=user.principal, defaults=defaults)
    except LiteMaaSError as exc:
        context = await _list_context(session, user, q=None, role=None, active=None, provider=None, offset=0)
        context["defaults"] = values
        raise AnsweredWith(
            render(
                "admin_users/users.html",
                user,
                status=exc.status,
                saved=None,
                defaults_error={"field": exc.field, "message": exc.message},
                **context,
            )
        ) from None
    return RedirectResponse("/admin/users?saved=defaults#defaults", status_code=303)


@router.get("/admin/users/apply-defaults")
async def apply_dialog(user: AdminViewer, render: Render, session: Session) -> HTMLResponse:
    defaults = await settings_admin.get_user_defaults(session)
    return render("admin_users/_apply.html", user, defaults=defaults, result=None, can=_capabilities(user))


@router.post("/admin/users/apply-defaults")
async def apply_defaults(
    user: UserEditor, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> HTMLResponse:
    result = await limits.apply_defaults(session, get_litellm_admin(litellm), actor=user.principal, confirm=True)
    return render("admin_users/_apply.html", user, defaults=result.defaults, result=result, can=_capabilities(user))


# --------------------------------------------------------------------------- one user


async def _user_context(
    session: Session, litellm: OptionalLiteLLMAdmin, user: PageSession, user_id: uuid.UUID
) -> dict[str, Any]:
    target = await service.get_user(session, user_id)
    spend_available = True
    if litellm is not None:
        current = await limits.get_user_limits(session, litellm, user_id)
        spend_available = current.spend is not None
    else:
        current = await limits.stored_user_limits(session, user_id)
        spend_available = False
    listing, _ = await keys.list_keys(session, litellm, user_id=user_id)
    subs = await subscriptions.list_own(session, user_id)
    active_models = {s.model.name for s in subs if s.status == "active"}
    models = [m for m in await catalog.list_models(session) if m.is_live]
    return {
        "target": UserOut.model_validate(target),
        "limits": current,
        "spend_available": spend_available,
        "subscriptions": subs,
        "grantable": [m.name for m in models if m.name not in active_models],
        "key_models": sorted(active_models),
        "keys": listing.items,
        "usage_available": listing.usage_available,
        "roles": [r.value for r in Role],
        "can": _capabilities(user),
        "self_view": target.id == user.user_id,
    }


async def _answer_error(
    render: PageRenderer,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    user: PageSession,
    user_id: uuid.UUID,
    exc: LiteMaaSError,
) -> NoReturn:
    """The user page again with the error at the top (the transaction rolls back)."""
    context = await _user_context(session, litellm, user, user_id)
    raise AnsweredWith(
        render(
            "admin_users/user.html",
            user,
            status=exc.status,
            error={"code": exc.code, "field": exc.field, "message": exc.message, "status": exc.status},
            done=None,
            **context,
        )
    )


def _back(user_id: uuid.UUID, done: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users/{user_id}?done={done}", status_code=303)


@router.get("/admin/users/{user_id}")
async def user_page(
    user_id: uuid.UUID,
    user: AdminViewer,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    context = await _user_context(session, litellm, user, user_id)
    return render("admin_users/user.html", user, error=None, done=done, **context)


@router.post("/admin/users/{user_id}/role")
async def change_role(
    user_id: uuid.UUID,
    request: Request,
    user: UserEditor,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    cache: UserCache,
) -> Response:
    form = await request.form()
    raw = form.get("manual_role")
    try:
        role = Role(raw) if isinstance(raw, str) and raw else Role.USER
        target = await service.get_user(session, user_id)
        await service.set_manual_role(session, actor=user.principal, user=target, role=role, cache=cache)
    except ValueError:
        await _answer_error(render, session, litellm, user, user_id, BadRequest("unknown role", field="manual_role"))
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "role")


@router.post("/admin/users/{user_id}/active")
async def change_active(
    user_id: uuid.UUID,
    request: Request,
    user: UserEditor,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
    cache: UserCache,
) -> Response:
    form = await request.form()
    active = form.get("is_active") == "true"
    try:
        target = await service.get_user(session, user_id)
        await service.set_active(
            session, actor=user.principal, user=target, active=active, cache=cache, litellm=litellm
        )
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "active")


@router.post("/admin/users/{user_id}/limits")
async def change_limits(
    user_id: uuid.UUID,
    request: Request,
    user: UserEditor,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> Response:
    form = await request.form()
    try:
        data = _validated(UserLimitsIn, _blank_none(form, LIMIT_FIELDS))
        await limits.set_user_limits(
            session, get_litellm_admin(litellm), actor=user.principal, user_id=user_id, data=data
        )
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "limits")


@router.post("/admin/users/{user_id}/reset-spend")
async def reset_spend(
    user_id: uuid.UUID, user: UserEditor, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> Response:
    try:
        await limits.reset_user_spend(session, get_litellm_admin(litellm), actor=user.principal, user_id=user_id)
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "spend")


@router.post("/admin/users/{user_id}/subscriptions")
async def grant(
    user_id: uuid.UUID, request: Request, user: Granter, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> Response:
    form = await request.form()
    model = form.get("model")
    reason = form.get("reason")
    try:
        if not isinstance(model, str) or not model.strip():
            raise BadRequest("model: choose a model", field="model")
        await subscriptions.grant(
            session,
            get_litellm_admin(litellm),
            actor=user.principal,
            user_id=user_id,
            model_ref=model.strip(),
            reason=reason.strip()[:2000] if isinstance(reason, str) else None,
        )
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "grant")


@router.post("/admin/users/{user_id}/keys")
async def create_key(
    user_id: uuid.UUID,
    request: Request,
    user: KeyAdmin,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> HTMLResponse:
    form = await request.form()
    values = {
        **_blank_none(form, ("alias", "rpm_limit", "tpm_limit", "max_budget", "duration")),
        "models": [m for m in form.getlist("models") if isinstance(m, str)],
    }
    try:
        data = _validated(KeyCreateIn, {k: v for k, v in values.items() if v is not None})
        created = await keys.create_key(
            session, get_litellm_admin(litellm), actor=user.principal, user_id=user_id, data=data
        )
    except LiteMaaSError as exc:
        raise AnsweredWith(
            render(
                "admin_users/_key_error.html",
                user,
                status=exc.status,
                error={"message": exc.message, "field": exc.field},
            )
        ) from None
    # The only answer that carries the secret (no-store like every page).
    return render("keys/_secret.html", user, created=created, rotated=False, headers=_REFRESH)


@router.post("/admin/users/{user_id}/keys/{key_id}/rotate")
async def rotate_key(
    user_id: uuid.UUID,
    key_id: uuid.UUID,
    user: KeyAdmin,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> HTMLResponse:
    await keys.get_key(session, key_id, owner_id=user_id)
    try:
        created = await keys.rotate_key(
            session, get_litellm_admin(litellm), actor=user.principal, key_id=key_id, owner_id=None
        )
    except LiteMaaSError as exc:
        raise AnsweredWith(
            render(
                "admin_users/_key_error.html",
                user,
                status=exc.status,
                error={"message": exc.message, "field": exc.field},
            )
        ) from None
    return render("keys/_secret.html", user, created=created, rotated=True, headers=_REFRESH)


@router.post("/admin/users/{user_id}/keys/{key_id}/revoke")
async def revoke_key(
    user_id: uuid.UUID,
    key_id: uuid.UUID,
    user: KeyAdmin,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> Response:
    await keys.get_key(session, key_id, owner_id=user_id)
    try:
        await keys.revoke_key(session, get_litellm_admin(litellm), actor=user.principal, key_id=key_id, owner_id=None)
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "revoke")


@router.post("/admin/users/{user_id}/keys/{key_id}/reset-spend")
async def reset_key_spend(
    user_id: uuid.UUID,
    key_id: uuid.UUID,
    user: KeyAdmin,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> Response:
    await keys.get_key(session, key_id, owner_id=user_id)
    try:
        await keys.reset_spend(session, get_litellm_admin(litellm), actor=user.principal, key_id=key_id)
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "key-spend")


@router.post("/admin/users/{user_id}/keys/{key_id}/edit")
async def edit_key(
    user_id: uuid.UUID,
    key_id: uuid.UUID,
    request: Request,
    user: KeyAdmin,
    render: Render,
    session: Session,
    litellm: OptionalLiteLLMAdmin,
) -> Response:
    await keys.get_key(session, key_id, owner_id=user_id)
    form = await request.form()
    changes = {k: v for k, v in _blank_none(form, ("alias", "rpm_limit", "tpm_limit")).items() if v is not None}
    try:
        data = _validated(KeyUpdateIn, changes)
        await keys.update_key(
            session, get_litellm_admin(litellm), actor=user.principal, key_id=key_id, owner_id=None, data=data
        )
    except LiteMaaSError as exc:
        await _answer_error(render, session, litellm, user, user_id, exc)
    return _back(user_id, "key-edit")
