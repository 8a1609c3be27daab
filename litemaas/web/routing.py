"""The page route class: failures become pages, every answer carries the page security headers.

Every page route is built by ``page_router()`` and so uses ``PageRoute``, which

- turns "not logged in" into a redirect to ``/login?next=<this page>`` (same-origin path only),
- turns "not allowed" (a missing permission, a failed CSRF check) into the rendered 403 page,
- turns other expected errors into a rendered error page with the same status,
- sets the security headers on every answer (CSP without inline scripts, no framing, no caching).

htmx requests get the same decisions in htmx terms: ``HX-Redirect`` to the login page, and the
error fragment swapped into the page's alert area.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from litemaas.errors import Forbidden, LiteMaaSError, Unauthorized
from litemaas.web.dependencies import render_for, session_for
from litemaas.web.rendering import LoginRequired, PageForbidden, apply_page_headers, login_url

log = structlog.get_logger("litemaas.web")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _return_path(request: Request) -> str:
    """Where to come back after logging in: this page for a GET, else the page the user was on."""
    if request.method == "GET" and not _is_htmx(request):
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    current = request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    base = str(request.base_url).rstrip("/")
    return current[len(base) :] if current.startswith(base + "/") else "/"


class AnsweredWith(Exception):
    """A failure the page answers with its own rendering (a form shown again with its error).

    Raised, not returned, so the request's transaction still rolls back.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def login_redirect(request: Request) -> Response:
    target = login_url(_return_path(request))
    if _is_htmx(request):
        # A 303 would be followed inside the XHR and the login page swapped into a fragment.
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def error_page(request: Request, status: int, reason: str) -> Response:
    """The error page (or, for htmx, the error alert) for ``status``; ``reason`` is an error code."""
    render = render_for(request)
    user = session_for(request)
    if _is_htmx(request):
        return render(
            "errors/_alert.html",
            user,
            status=status,
            headers={"HX-Retarget": "#page-alerts", "HX-Reswap": "innerHTML"},
            status_code=status,
            reason=reason,
        )
    return render("errors/error.html", user, status=status, status_code=status, reason=reason)


class PageRoute(APIRoute):
    """An APIRoute for pages: see the module docstring."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except AnsweredWith as answer:
                response = answer.response
            except LoginRequired:
                response = login_redirect(request)
            except PageForbidden:
                response = await error_page(request, 403, "forbidden")
            except Unauthorized:
                # A presented credential that does not hold (a malformed or expired bearer token).
                response = login_redirect(request)
            except Forbidden as exc:
                response = await error_page(request, 403, exc.code)
            except LiteMaaSError as exc:
                if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                    log.warning("web.page.error", code=exc.code, status=exc.status, path=request.url.path)
                response = await error_page(request, exc.status, exc.code)
            return apply_page_headers(response)

        return page_handler


def page_router() -> APIRouter:
    """The router of one page area: every route a ``PageRoute``, none in the OpenAPI schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)
