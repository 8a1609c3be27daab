"""HTTP request metrics in the Prometheus text format (no client library is installed).

Series are labelled by method, route *template* and status, never by the raw path: a path
carries ids, and a label per id would grow without bound. The registry lives in one process;
with several uvicorn workers each worker exposes its own figures.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED_ROUTE = "unmatched"
# Latency of a self-service API: most answers in milliseconds, LiteLLM admin calls up to seconds.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any other method string a client sends would be a new series.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_Labels = tuple[str, str, str]  # method, route, status


@dataclass(slots=True)
class _Histogram:
    buckets: list[int]
    total: float = 0.0
    count: int = 0


@dataclass(slots=True)
class HttpMetrics:
    """Request counts and latency histograms by method, route template and status."""

    prefix: str = "litemaas"
    bucket_bounds: tuple[float, ...] = DEFAULT_BUCKETS
    _series: dict[_Labels, _Histogram] = field(default_factory=dict)
    # Other figures read at scrape time (e.g. job runs from the database): each returns lines
    # in the text format, or "" when its source cannot answer.
    collectors: list[Callable[[], Awaitable[str]]] = field(default_factory=list)

    async def render_all(self) -> str:
        return self.render() + "".join([await collect() for collect in self.collectors])

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _KNOWN_METHODS else "other"
        key = (method, route, str(status))
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Histogram(buckets=[0] * len(self.bucket_bounds))
        index = bisect_left(self.bucket_bounds, seconds)
        if index < len(series.buckets):
            series.buckets[index] += 1
        series.total += seconds
        series.count += 1

    def render(self) -> str:
        requests = f"{self.prefix}_http_requests_total"
        duration = f"{self.prefix}_http_request_duration_seconds"
        ordered = sorted(self._series.items())
        lines = [
            f"# HELP {requests} HTTP requests handled, by method, route template and status.",
            f"# TYPE {requests} counter",
        ]
        lines += [f"{requests}{{{_labels(key)}}} {series.count}" for key, series in ordered]
        lines += [
            f"# HELP {duration} Time to handle an HTTP request, by method, route template and status.",
            f"# TYPE {duration} histogram",
        ]
        for key, series in ordered:
            labels = _labels(key)
            cumulative = 0
            for bound, hits in zip(self.bucket_bounds, series.buckets, strict=True):
                cumulative += hits
                lines.append(f'{duration}_bucket{{{labels},le="{bound!r}"}} {cumulative}')
            lines.append(f'{duration}_bucket{{{labels},le="+Inf"}} {series.count}')
            lines.append(f"{duration}_sum{{{labels}}} {series.total!r}")
            lines.append(f"{duration}_count{{{labels}}} {series.count}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(key: _Labels) -> str:
    method, route, status = key
    return f'method="{_escape(method)}",route="{_escape(route)}",status="{_escape(status)}"'


@dataclass(frozen=True, slots=True)
class _Template:
    route: BaseRoute
    regex: re.Pattern[str]
    template: str


class RouteTemplates:
    """Maps a handled request to the template of the route that served it (``/users/{user_id}``)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._all: list[_Template] = []
        self._by_route: dict[int, list[_Template]] = {}
        for ctx in iter_route_contexts(routes):
            regex: Any = getattr(ctx, "path_regex", None)
            template = ctx.path_format
            if regex is None or not template:
                continue
            entry = _Template(ctx.original_route, regex, template)
            self._all.append(entry)
            self._by_route.setdefault(id(ctx.original_route), []).append(entry)

    def resolve(self, scope: Scope, status: int) -> str:
        path: str = scope.get("path", "")
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        route = scope.get("route")
        candidates: Iterable[_Template] | None = self._by_route.get(id(route)) if route is not None else None
        if candidates is None:
            if status == HTTPStatus.NOT_FOUND:
                # No route matched: don't scan every route for each request of a crawler.
                return UNMATCHED_ROUTE
            # Routes the router dispatches without recording them (docs, 405 and redirects).
            candidates = self._all
        for entry in candidates:
            if entry.regex.match(path):
                return entry.template
        return UNMATCHED_ROUTE


class MetricsMiddleware:
    """Times every HTTP request and records it under its route template."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._templates: RouteTemplates | None = None

    def _resolver(self, scope: Scope) -> RouteTemplates:
        # Built at the first request: routers are all included by then.
        if self._templates is None:
            self._templates = RouteTemplates(scope["app"].routes)
        return self._templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = self._resolver(scope).resolve(scope, status)
            self.metrics.observe(scope.get("method", "GET"), route, status, time.perf_counter() - started)
