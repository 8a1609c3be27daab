"""Test connection: can the backend reach a model server, and does it serve the model?

Asked by an admin before saving a model. The backend fetches ``{api_base}/models`` (then
``/health``) itself, so the URL passes the same SSRF rule as the proxy hooks' document sources
(``kit.url_policy``, deny by default: public addresses, plus the operator's allowlist
``LITEMAAS_MODEL_SERVER_ALLOWED_HOSTS``; in development the simulator's host too). No redirect
is followed, the timeout is short, and nothing of the server's answer is echoed back: only
the verdict (found / not found / auth error / timeout / ...) and the HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from litemaas.config import Settings
from litemaas.kit.url_policy import SourcePolicy, UrlRefused
from litemaas.models_catalog.errors import ModelServerRefused
from litemaas.models_catalog.schemas import ConnectionStatus, ConnectionTestIn, ConnectionTestOut

log = structlog.get_logger("litemaas.models_catalog")

# A model list larger than this is not read to the end (a server may answer anything).
_MAX_BODY = 1 << 20
_FIELD = "api_base"
_AUTH_STATUSES = frozenset({401, 403})
_MISSING_STATUSES = frozenset({404, 405})
_OK = 200
_REDIRECT_MIN, _REDIRECT_MAX = 300, 399


def policy(allowed: Iterable[str], *, development: bool, simulator_url: str, timeout: float) -> SourcePolicy:
    """The allowlist for model servers: the operator's entries, plus the simulator's host in development."""
    entries = list(allowed)
    if development:
        host = urlsplit(simulator_url).hostname
        if host:
            entries.append(host)
    return SourcePolicy.from_entries(entries, resolve_timeout_s=timeout)


def _candidates(model: str) -> set[str]:
    """Names the server may list the model under: as given, and without LiteLLM's provider prefix."""
    names = {model.strip()}
    if "/" in model:
        names.add(model.split("/", 1)[1].strip())
    return {n for n in names if n}


def _listed(body: bytes) -> set[str] | None:
    """Model ids of an OpenAI-style ``{"data": [{"id": ...}]}`` list, or None if it is not one."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        return None
    return {str(item.get("id")) for item in data if isinstance(item, dict) and item.get("id") is not None}


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    async with client.stream("GET", url, headers=headers) as response:
        body = b""
        if response.status_code == _OK:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > _MAX_BODY:
                    break
        return response.status_code, body[:_MAX_BODY]


def _health_urls(base: str) -> list[str]:
    urls = [f"{base}/health"]
    if base.endswith("/v1"):
        urls.append(f"{base[: -len('/v1')]}/health")
    return urls


def _verdict(status: ConnectionStatus, checked: str, http_status: int | None) -> ConnectionTestOut:
    return ConnectionTestOut(status=status, checked=checked, http_status=http_status)


async def probe_server(data: ConnectionTestIn, *, source_policy: SourcePolicy, timeout_s: float) -> ConnectionTestOut:
    """Reach the model server and report what it said (never what it sent)."""
    base = data.api_base.strip().rstrip("/")
    try:
        await source_policy.check(base, _FIELD)
    except UrlRefused as exc:
        raise ModelServerRefused(exc.reason) from None
    headers = {"Accept": "application/json"}
    if data.api_key is not None and data.api_key.get_secret_value():
        headers["Authorization"] = f"Bearer {data.api_key.get_secret_value()}"
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        try:
            return await _probe(client, base, data, headers)
        except httpx.TimeoutException:
            return _verdict("timeout", "models", None)
        except httpx.TransportError:
            return _verdict("unreachable", "models", None)


async def _probe(  # noqa: PLR0911  one verdict per answer of the server
    client: httpx.AsyncClient, base: str, data: ConnectionTestIn, headers: dict[str, str]
) -> ConnectionTestOut:
    if data.model_type != "document_conversion":
        status, body = await _get(client, f"{base}/models", headers)
        if status in _AUTH_STATUSES:
            return _verdict("auth_error", "models", status)
        if _REDIRECT_MIN <= status <= _REDIRECT_MAX:
            return _verdict("redirect_refused", "models", status)
        if status == _OK:
            listed = _listed(body)
            if listed is not None:
                found = bool(_candidates(data.model) & listed)
                return _verdict("found" if found else "not_found", "models", status)
        elif status not in _MISSING_STATUSES:
            return _verdict("error", "models", status)
    # No model list here (document conversion, or a server without /models): its health check.
    last: int | None = None
    for url in _health_urls(base):
        last, _ = await _get(client, url, headers)
        if last in _AUTH_STATUSES:
            return _verdict("auth_error", "health", last)
        if last == _OK:
            return _verdict("reachable", "health", last)
    return _verdict("not_found", "health", last)


async def run(data: ConnectionTestIn, settings: Settings) -> ConnectionTestOut:
    """``probe_server`` with the deployment's allowlist and timeout."""
    timeout = settings.model_server_test_timeout_seconds
    source_policy = policy(
        settings.model_server_allowed_hosts,
        development=settings.environment == "development",
        simulator_url=settings.simulator_url,
        timeout=timeout,
    )
    result = await probe_server(data, source_policy=source_policy, timeout_s=timeout)
    log.info("model.connection_test.done", status=result.status, checked=result.checked, http_status=result.http_status)
    return result
