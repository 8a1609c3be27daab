"""The model catalog and the model pages with copy-ready examples.

Filters and search run server-side (htmx swaps the cards; without JavaScript the form is a
plain GET). Subscribing goes through the subscriptions service, as ``POST /api/v1/subscriptions``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from litemaas.auth.permissions import Permission
from litemaas.db import Session
from litemaas.errors import LiteMaaSError
from litemaas.litellm_admin.dependencies import OptionalLiteLLMAdmin, get_litellm_admin
from litemaas.models_catalog import capabilities
from litemaas.models_catalog import service as catalog
from litemaas.models_catalog.router import model_out
from litemaas.models_catalog.schemas import ModelOut
from litemaas.settings_admin import service as settings_admin
from litemaas.subscriptions import service as subscriptions
from litemaas.subscriptions.schemas import SubscriptionOut
from litemaas.web import examples
from litemaas.web.dependencies import PortalSettings, Render, page_user
from litemaas.web.i18n import N_
from litemaas.web.layout import NavItem
from litemaas.web.rendering import PageSession
from litemaas.web.routing import AnsweredWith, page_router

router = page_router()

NAVIGATION = (NavItem("/catalog", N_("Models"), Permission.MODELS_READ, order=10),)

Reader = Annotated[PageSession, page_user(Permission.MODELS_READ)]
Subscriber = Annotated[PageSession, page_user(Permission.SUBSCRIPTIONS_OWN)]

# PatternFly label colours for the capabilities (the seed's colours: chat blue, embeddings green,
# tokenize red-orange, document conversion orange; safety purple).
LABEL_COLOURS = {
    "chat": "blue",
    "embeddings": "green",
    "tokenize": "orangered",
    "document_conversion": "orange",
    "safety": "purple",
    "vision": "teal",
    "function_calling": "grey",
}
# The capability names as shown (translated in the templates).
CAPABILITY_LABELS = {
    "chat": N_("Chat"),
    "embeddings": N_("Embeddings"),
    "tokenize": N_("Tokenize"),
    "document_conversion": N_("Document conversion"),
    "safety": N_("Safety"),
    "vision": N_("Vision"),
    "function_calling": N_("Function calling"),
}
_REASON_LENGTH = 2000
_SHOWN_STATES = {subscriptions.ACTIVE, subscriptions.PENDING, subscriptions.DENIED}


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


async def _states(session: Session, user: PageSession) -> dict[str, SubscriptionOut]:
    """The user's subscription per model name (cancelled ones count as none)."""
    return {s.model.name: s for s in await subscriptions.list_own(session, user.user_id) if s.status in _SHOWN_STATES}


async def _listing(
    session: Session, user: PageSession, capability: str | None, provider: str | None, q: str | None
) -> dict[str, Any]:
    everything = [model_out(m) for m in await catalog.list_models(session)]
    filtered = [
        model_out(m) for m in await catalog.list_models(session, capability=capability, provider=provider, search=q)
    ]
    return {
        "models": filtered,
        "states": await _states(session, user),
        "capability_options": [
            (name, c.label)
            for name, c in capabilities.CAPABILITIES.items()
            if any(name in (x.name for x in m.capabilities) for m in everything)
        ],
        "provider_options": sorted({m.provider for m in everything if m.provider}),
        "filters": {"capability": capability or "", "provider": provider or "", "q": q or ""},
        "colours": LABEL_COLOURS,
        "capability_labels": CAPABILITY_LABELS,
        "can_subscribe": Permission.SUBSCRIPTIONS_OWN in user.principal.permissions,
        "error": None,
        "reason": "",
    }


Capability = Annotated[str | None, Query(max_length=32)]
Provider = Annotated[str | None, Query(max_length=64)]
Search = Annotated[str | None, Query(max_length=200)]


@router.get("/catalog")
async def catalog_page(
    user: Reader,
    render: Render,
    session: Session,
    capability: Capability = None,
    provider: Provider = None,
    q: Search = None,
) -> HTMLResponse:
    listing = await _listing(session, user, _clean(capability), _clean(provider), _clean(q))
    return render("catalog/catalog.html", user, **listing)


@router.get("/catalog/cards")
async def catalog_cards(
    user: Reader,
    render: Render,
    session: Session,
    capability: Capability = None,
    provider: Provider = None,
    q: Search = None,
) -> HTMLResponse:
    listing = await _listing(session, user, _clean(capability), _clean(provider), _clean(q))
    return render("catalog/_cards.html", user, **listing)


def _state_fragment(
    render: Render, user: PageSession, model: ModelOut, sub: SubscriptionOut | None, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    context: dict[str, Any] = {"error": None, "reason": "", **extra}
    return render(
        "catalog/_subscription.html", user, status=status, model=model, sub=sub, can_subscribe=True, **context
    )


@router.post("/catalog/subscribe")
async def subscribe(
    request: Request, user: Subscriber, render: Render, session: Session, litellm: OptionalLiteLLMAdmin
) -> HTMLResponse:
    form = await request.form()
    raw_model, raw_reason = form.get("model"), form.get("reason")
    name = raw_model if isinstance(raw_model, str) else ""
    reason = raw_reason.strip()[:_REASON_LENGTH] if isinstance(raw_reason, str) else ""
    model = model_out(await catalog.get_model(session, name))
    try:
        sub = await subscriptions.subscribe(
            session,
            get_litellm_admin(litellm),
            actor=user.principal,
            user_id=user.user_id,
            model_ref=model.name,
            reason=reason or None,
        )
    except LiteMaaSError as exc:
        current = (await _states(session, user)).get(model.name)
        raise AnsweredWith(
            _state_fragment(
                render,
                user,
                model,
                current,
                status=exc.status,
                error={"status": exc.status, "code": exc.code, "field": exc.field},
                reason=reason,
            )
        ) from None
    return _state_fragment(render, user, model, sub)


@router.get("/catalog/{model_ref:path}")
async def model_page(
    model_ref: str, user: Reader, render: Render, session: Session, settings: PortalSettings
) -> HTMLResponse:
    model = model_out(await catalog.get_model(session, model_ref))
    portal = await settings_admin.portal_values(session, settings)
    proxy_url = portal.public_proxy_url
    sets = examples.for_model(
        model.name,
        [c.name for c in model.capabilities],
        proxy_url=proxy_url,
        document_url=settings.example_document_url,
    )
    return render(
        "catalog/model.html",
        user,
        model=model,
        sub=(await _states(session, user)).get(model.name),
        example_sets=sets,
        proxy_url=proxy_url.rstrip("/"),
        key_placeholder=examples.KEY_PLACEHOLDER,
        guardrail=examples.GUARDRAIL,
        upload_file=examples.UPLOAD_FILE,
        colours=LABEL_COLOURS,
        capability_labels=CAPABILITY_LABELS,
        can_subscribe=Permission.SUBSCRIPTIONS_OWN in user.principal.permissions,
        currency_symbol=portal.currency_symbol,
        error=None,
        reason="",
    )
