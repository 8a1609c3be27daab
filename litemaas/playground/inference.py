"""One streamed chat completion at the LiteLLM proxy, made with a virtual key like any client's call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx
import structlog

log = structlog.get_logger("litemaas.playground")

# Connect and pool waits are short (the proxy is near); reading waits for a slow first token.
_TIMEOUT = httpx.Timeout(connect=3.0, read=300.0, write=10.0, pool=3.0)


class ProxyUnreachable(Exception):
    """The proxy could not be reached (nothing was sent to the model)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """The proxy answered an error status before streaming."""

    status: int
    message: str


async def open_stream(
    http: httpx.AsyncClient, proxy_url: str, secret: str, payload: dict[str, Any]
) -> httpx.Response | Refusal:
    """Start ``POST /v1/chat/completions`` with ``stream: true``; the open response, or the refusal."""
    request = http.build_request(
        "POST",
        proxy_url.rstrip("/") + "/v1/chat/completions",
        json=payload,
        headers={"Authorization": f"Bearer {secret}", "Accept": "text/event-stream"},
        timeout=_TIMEOUT,
    )
    try:
        response = await http.send(request, stream=True)
    except httpx.TransportError as exc:
        raise ProxyUnreachable(type(exc).__name__) from None
    if response.status_code < HTTPStatus.BAD_REQUEST:
        return response
    try:
        body = await response.aread()
    finally:
        await response.aclose()
    return Refusal(response.status_code, _message(body))


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:300].decode(errors="replace")
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)[:300]
    return str(error or data)[:300]


async def relay(response: httpx.Response) -> AsyncIterator[bytes]:
    """The proxy's event stream, passed on chunk by chunk as it arrives (closed when the page stops)."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # The proxy went away mid-answer: end the stream with an event the page shows.
        log.warning("playground.stream.broken", error_type=type(exc).__name__)
        yield b'data: {"error": {"code": "stream_broken"}}\n\n'
    finally:
        await response.aclose()
