"""Per-request context: request id header, access log line, renewed session cookies."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

log = structlog.get_logger("litemaas.http")


class RequestContextMiddleware:
    """Binds a request id to every log line and echoes it in ``X-Request-ID``."""

    def __init__(self, app: ASGIApp, secret_path_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        # Paths whose rest is a secret (a join code): logged as the prefix and "…".
        self.secret_path_prefixes = secret_path_prefixes

    def _loggable(self, path: object) -> object:
        if isinstance(path, str):
            for prefix in self.secret_path_prefixes:
                if path.startswith(prefix) and len(path) > len(prefix):
                    return prefix + "…"
        return path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                refresh = state.get("session_refresh")
                sessions = getattr(scope["app"].state, "sessions", None)
                if refresh is not None and sessions is not None and not state.get("session_cleared"):
                    token, claims = refresh

                    carrier = Response()
                    sessions.set_cookies(carrier, token, claims)
                    for key, value in carrier.raw_headers:
                        if key == b"set-cookie":
                            headers.append("set-cookie", value.decode("latin-1"))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                "http.request",
                method=scope.get("method"),
                path=self._loggable(scope.get("path")),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()
