"""Error answers of the proxy never carry a key, a key hash or a model id back to the caller.

LiteLLM 1.106.12 writes the caller's key hash into client-facing errors: the 401 for an unknown,
deleted or revoked key (``Key Hash (Token) =<sha256>``) and the 429 of its v3 rate limiter
(``Rate limit exceeded for api_key: <sha256>``).
A hash is what LiteLLM stores and looks keys up by, so it must not travel to an attendee's
screen, logs or a shared notebook. This pure-ASGI wrapper rewrites the body of every error
response (status >= 400, size-bounded) before it leaves the proxy; successful answers and
streams pass untouched and unbuffered. It sits outside LiteLLM's own failure hooks on purpose:
errors raised before them (auth, our body bound) or outside them (route handlers) pass here too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any, Final

log: Final = logging.getLogger("litemaas_hooks.redaction")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# sha256 hex digests (key hashes, LiteLLM's model ids) and anything shaped like a virtual key.
# LiteLLM's own abbreviations ("sk-...ab12") do not match; shorter hex runs (request ids) stay.
_HEX_DIGEST: Final = re.compile(rb"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")
_SECRET_KEY: Final = re.compile(rb"sk-[A-Za-z0-9_\-]{8,}")
HASH_MASK: Final = b"[key hash redacted]"
SECRET_MASK: Final = b"sk-[redacted]"
# LiteLLM's response headers name the model server's internal address; no caller needs it.
_INTERNAL_HEADERS: Final = frozenset({b"x-litellm-model-api-base"})
_MAX_ERROR_BODY: Final = 256 * 1024  # larger error bodies are truncated to a generic message


def redact(body: bytes) -> bytes:
    """Replace digests and key-shaped strings in an error body."""
    body = _SECRET_KEY.sub(SECRET_MASK, body)
    return _HEX_DIGEST.sub(HASH_MASK, body)


class RedactErrorBodies:
    """ASGI middleware: buffer only error responses and redact secrets from them (and their headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal start, size
            kind = message.get("type")
            if kind == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _INTERNAL_HEADERS]
                if int(message.get("status", 200)) < HTTPStatus.BAD_REQUEST:
                    await send({**message, "headers": headers})
                    return
                start = {**message, "headers": [(k, redact(v)) for k, v in headers]}
                return
            if kind != "http.response.body" or start is None:
                await send(message)
                return
            body = message.get("body", b"") or b""
            size += len(body)
            if size <= _MAX_ERROR_BODY:
                chunks.append(body)
            if message.get("more_body", False):
                return
            cleaned = redact(b"".join(chunks)) if size <= _MAX_ERROR_BODY else b'{"error":{"message":"error"}}'
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(cleaned)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": cleaned, "more_body": False})

        await self.app(scope, receive, send_wrapper)


def install(app: Any = None) -> bool:
    """Wrap the proxy app once per process (LiteLLM loads hooks after its middleware stack is built)."""
    if app is None:
        from litellm.proxy.proxy_server import app as proxy_app  # noqa: PLC0415  proxy_server builds LiteLLM's whole app on import: reached only inside the running proxy

        app = proxy_app
    if getattr(app.state, "litemaas_redaction", False):
        return False
    if app.middleware_stack is None:
        app.add_middleware(RedactErrorBodies)
    else:
        # Starlette builds the stack on the first ASGI call (the lifespan), before LiteLLM reads
        # its config and imports us; wrapping the built stack is the only way in from here.
        app.middleware_stack = RedactErrorBodies(app.middleware_stack)
    app.state.litemaas_redaction = True
    log.info("litemaas_hooks.redaction.installed")
    return True
