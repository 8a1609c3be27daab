"""Bound request bodies while they are read, before LiteLLM buffers them.

LiteLLM's own ``max_request_size_mb`` is an Enterprise feature in 1.106.12, and a check inside a
hook runs only after LiteLLM has read the whole body (and can only see a declared
``Content-Length``, not a chunked body). :class:`BodyLimit` is a pure ASGI wrapper around the
whole proxy app: a declared ``Content-Length`` over the limit gets a 413 at once; otherwise the
body is read (either framing) and counted, and the first byte over the limit ends it with a
413. The app (auth, hooks, model call) sees a body only once it is complete and within bounds.

The body is held in memory up to the limit, which LiteLLM does anyway when it parses it.
Docling routes take uploads and get their own, larger limit.

LiteLLM loads callbacks inside the app's startup, after Starlette built the middleware stack,
so ``add_middleware`` is closed by then; :func:`install` wraps the built stack instead (or adds
a middleware when the stack is not built yet).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Final

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from litemaas_hooks.endpoints import DOCLING_ROUTE_PREFIX
from litemaas_hooks.settings import HookSettings

log: Final = logging.getLogger("litemaas_hooks.body_limit")
_MB: Final = 1024 * 1024

Limit = Callable[[str], int]


def limit_for_path(settings: HookSettings) -> Limit:
    """Docling uploads get ``docling_max_upload_bytes``; every other route ``max_request_bytes``."""

    def limit(path: str) -> int:
        if path.startswith(DOCLING_ROUTE_PREFIX):
            return settings.docling_max_upload_bytes
        return settings.max_request_bytes

    return limit


class BodyLimit:
    """ASGI wrapper: 413 for bodies over the path's limit, counted as they arrive."""

    def __init__(self, app: ASGIApp, limit: Limit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before the body was complete: nothing to serve
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The buffered body as one message, then the server's own messages (disconnect)."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _too_large(send: Send, limit: int) -> None:
    # LiteLLM's error shape, so SDKs show the message. The server discards the unread rest of
    # the body; the connection stays usable, so the client reads this answer after sending.
    message = f"Request body too large: the limit is {limit / _MB:g} MB."
    content = json.dumps(
        {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "413"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": content})


def install(app: FastAPI | None = None, settings: HookSettings | None = None) -> bool:
    """Put :class:`BodyLimit` in front of the proxy app once per process; False if already there."""
    if app is None:
        from litellm.proxy.proxy_server import app as proxy_app  # noqa: PLC0415  proxy_server builds LiteLLM's whole app on import: reached only inside the running proxy

        app = proxy_app
    if getattr(app.state, "litemaas_body_limit", False):
        return False
    limit = limit_for_path(settings or HookSettings.from_env())
    if app.middleware_stack is None:
        app.add_middleware(BodyLimit, limit=limit)
    else:
        app.middleware_stack = BodyLimit(app.middleware_stack, limit)
    app.state.litemaas_body_limit = True
    log.info("litemaas_hooks.body_limit.installed default_bytes=%s", limit("/"))
    return True
