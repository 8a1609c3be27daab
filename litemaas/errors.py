"""The LiteMaaS exception tree and the one handler that renders it.

Every expected failure is a ``LiteMaaSError`` rendered as
``{"error": CODE, "detail": message}`` (plus ``"field"`` when one input is at fault).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("litemaas.errors")


class LiteMaaSError(Exception):
    """Base of every expected error; ``status`` is the HTTP status, ``code`` the stable error code."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.field = field
        self.headers = headers

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class BadRequest(LiteMaaSError):
    status = 400
    code = "bad_request"


class Unauthorized(LiteMaaSError):
    status = 401
    code = "unauthorized"


class Forbidden(LiteMaaSError):
    status = 403
    code = "forbidden"


class NotFound(LiteMaaSError):
    status = 404
    code = "not_found"


class Conflict(LiteMaaSError):
    status = 409
    code = "conflict"


class TooManyRequests(LiteMaaSError):
    status = 429
    code = "too_many_requests"


class UpstreamUnavailable(LiteMaaSError):
    status = 503
    code = "upstream_unavailable"


class UpstreamRejected(LiteMaaSError):
    """LiteLLM refused a change LiteMaaS had already validated (502)."""

    status = 502
    code = "upstream_rejected"


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _handle_litemaas_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, LiteMaaSError):
        raise RuntimeError("invariant broken: isinstance(exc, LiteMaaSError)")
    if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        log.warning("http.error.upstream", code=exc.code, status=exc.status, path=request.url.path)
    return _json(exc.status, exc.body(), exc.headers)


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise RuntimeError("invariant broken: isinstance(exc, StarletteHTTPException)")
    code = _STATUS_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    return _json(exc.status_code, {"error": code, "detail": detail}, getattr(exc, "headers", None))


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise RuntimeError("invariant broken: isinstance(exc, RequestValidationError)")
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    detail = str(first.get("msg", "invalid request"))
    body: dict[str, Any] = {
        "error": "validation_error",
        # The detail names the field too: it is what a person reads first.
        "detail": f"{'.'.join(loc)}: {detail}" if loc else detail,
        "errors": [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors],
    }
    if loc:
        body["field"] = ".".join(loc)
    return _json(422, body)


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("http.error.unhandled", path=request.url.path, error_type=type(exc).__name__)
    return _json(500, {"error": "internal_error", "detail": "internal server error"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LiteMaaSError, _handle_litemaas_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(Exception, _handle_unexpected)
