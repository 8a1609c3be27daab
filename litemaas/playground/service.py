"""Playground rules: which models it offers, the user's playground key, one streamed turn.

Design (see "Chat playground" in the README): the browser never holds a LiteLLM key. The backend
calls the proxy with the user's *playground key*, an ``api_keys`` row like any other (so
LiteLLM enforces its models and its RPM/TPM limits, and spend is attributed to the user and
shows as that key), whose secret is never stored: it is derived for each call as
HMAC-SHA256(master key, key id). Only its LiteLLM hash is kept, as for every key. Whoever could
derive it holds the master key already.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from http import HTTPStatus
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.api_keys import service as keys
from litemaas.audit.service import Actor
from litemaas.config import Settings
from litemaas.errors import UpstreamUnavailable
from litemaas.litellm_admin import KeyLimits, LiteLLMAdminClient
from litemaas.playground.errors import InvalidChat, ModelNotAvailable, ModelRefused, PlaygroundRateLimited
from litemaas.playground.inference import ProxyUnreachable, Refusal, open_stream
from litemaas.playground.schemas import ChatIn, ChatModel
from litemaas.settings_admin import service as settings_admin
from litemaas.subscriptions import service as subscriptions

log = structlog.get_logger("litemaas.playground")

_DERIVATION_LABEL = b"litemaas playground key v1\x00"
# Request tag in LiteLLM's spend logs, next to the key's alias ("<user>/_playground").
PLAYGROUND_TAG = "litemaas-playground"


def derive_secret(master_key: str, key_id: uuid.UUID) -> str:
    """The playground key's secret: the same on every replica, never written anywhere."""
    digest = hmac.new(master_key.encode(), _DERIVATION_LABEL + key_id.bytes, hashlib.sha256).digest()
    return "sk-" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def chat_models(session: AsyncSession, user_id: uuid.UUID) -> list[ChatModel]:
    """The user's active subscriptions to live chat models, by display name."""
    rows = await subscriptions.active_models_with_primary(session, user_id, "chat")
    return [ChatModel(name=name, display_name=display_name) for name, display_name in rows]


async def limits(session: AsyncSession, settings: Settings) -> tuple[KeyLimits, int]:
    """The playground key's RPM/TPM and the largest answer: admin settings, else the environment's."""
    values = await settings_admin.portal_values(session, settings)
    return (
        KeyLimits(rpm_limit=values.playground_rpm_limit, tpm_limit=values.playground_tpm_limit),
        values.playground_max_tokens,
    )


def _payload(chat: ChatIn) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": chat.model,
        "messages": [m.model_dump() for m in chat.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
        "metadata": {"tags": [PLAYGROUND_TAG]},
    }
    if chat.temperature is not None:
        payload["temperature"] = chat.temperature
    if chat.max_tokens is not None:
        payload["max_tokens"] = chat.max_tokens
    return payload


async def open_chat(
    session: AsyncSession,
    litellm: LiteLLMAdminClient,
    http: httpx.AsyncClient,
    settings: Settings,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    chat: ChatIn,
) -> httpx.Response:
    """Start one streamed turn with the user's playground key; the open stream from the proxy."""
    wanted, max_tokens = await limits(session, settings)
    if chat.max_tokens is not None and chat.max_tokens > max_tokens:
        raise InvalidChat(f"max_tokens must not exceed {max_tokens}", field="max_tokens")
    if settings.master_key is None:
        raise UpstreamUnavailable("LiteLLM is not configured (LITEMAAS_MASTER_KEY is not set)")
    master_key = settings.master_key.get_secret_value()
    offered = [m.name for m in await chat_models(session, user_id)]
    if chat.model not in offered:
        raise ModelNotAvailable(chat.model)

    async def attempt(rebuild: bool) -> httpx.Response | Refusal:
        key = await keys.playground_key(
            session,
            litellm,
            actor=actor,
            user_id=user_id,
            models=offered,
            limits=wanted,
            secret_for=lambda key_id: derive_secret(master_key, key_id),
            rebuild=rebuild,
        )
        try:
            return await open_stream(http, settings.proxy_url, key.secret, _payload(chat))
        except ProxyUnreachable:
            raise UpstreamUnavailable("the LiteLLM proxy is unreachable; try again shortly") from None

    answer = await attempt(rebuild=False)
    if isinstance(answer, Refusal) and answer.status == HTTPStatus.UNAUTHORIZED:
        # LiteLLM lost the key (deleted by hand, a restored database): create it again, once.
        log.warning("playground.key.refused", user_id=str(user_id))
        answer = await attempt(rebuild=True)
    if isinstance(answer, Refusal):
        if answer.status == HTTPStatus.TOO_MANY_REQUESTS:
            raise PlaygroundRateLimited(wanted.rpm_limit or 0, wanted.tpm_limit or 0)
        log.info("playground.chat.refused", status=answer.status, model=chat.model)
        raise ModelRefused(answer.message)
    return answer
