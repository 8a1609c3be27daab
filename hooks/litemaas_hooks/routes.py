"""Capability routes on the LiteLLM proxy: vLLM tokenizer and docling-serve conversion.

Each route authenticates with LiteLLM's own ``user_api_key_auth`` (virtual keys, model access,
budgets), runs LiteLLM's request pipeline (``common_processing_pre_call_logic``: metadata,
RPM/TPM limiter, guardrails, our capability check), lets LiteLLM's router pick the deployment,
forwards with the public model name rewritten (tokenize) or removed (docling), and records the
call through LiteLLM's logging pipeline so it lands in ``LiteLLM_SpendLogs``.

LiteLLM 1.106.12 has no configuration key for extra FastAPI routes, so :func:`install` adds
them to the proxy app when the callback module is imported during config load, and registers
the paths as LLM API routes exactly as LiteLLM does for its own auth-enforced pass-through
endpoints (``pass_through_endpoints.py`` ``_register_pass_through_endpoint``), so virtual
keys may call them and budgets apply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Final

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from litellm.proxy._types import LiteLLMRoutes, ProxyException, UserAPIKeyAuth
from litellm.proxy.auth.auth_utils import get_request_route
from litellm.proxy.auth.user_api_key_auth import enforce_key_and_fallback_model_access, user_api_key_auth
from litellm.proxy.common_request_processing import ProxyBaseLLMRequestProcessing
from litellm.proxy.common_utils.http_parsing_utils import read_request_body
from starlette.datastructures import UploadFile

from litemaas_hooks import catalog, docling, docling_tasks, usage
from litemaas_hooks.settings import HookSettings
from litemaas_hooks.url_policy import SourcePolicy, UrlRefused

log: Final = logging.getLogger("litemaas_hooks.routes")
SETTINGS: Final = HookSettings.from_env()
SOURCE_POLICY: Final = SourcePolicy.from_entries(SETTINGS.docling_allowed_sources, SETTINGS.connect_timeout_s)
TASKS: Final = docling_tasks.TaskStore(SETTINGS.docling_task_ttl_s)

TOKENIZE_PATHS: Final = ("/v1/tokenize", "/v1/detokenize")
DOCLING_PREFIX: Final = "/docling/v1"
# Fields the proxy consumes; never forwarded to the model server.
_PROXY_FIELDS: Final = frozenset({"metadata", "litellm_metadata", "guardrails", "tags", "user", "timeout"})
_SAFE_SEGMENT: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-.]*$")
_ENCODED_SEPARATORS: Final = (b"%2f", b"%5c", b"%2e", b"%25")

_client: httpx.AsyncClient | None = None


def _http() -> httpx.AsyncClient:
    global _client  # noqa: PLW0603  one pooled HTTP client per LiteLLM worker, created on first use
    if _client is None:
        _client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50), follow_redirects=False
        )
    return _client


def _bad_request(message: str, status: int = 400, param: str | None = None) -> ProxyException:
    kind = "invalid_request_error" if status < HTTPStatus.INTERNAL_SERVER_ERROR else "api_error"
    return ProxyException(message=message, type=kind, param=param, code=status)


@dataclass(frozen=True, slots=True)
class _Route:
    endpoint: str  # as named in errors, e.g. "/v1/tokenize"
    capability: str
    timeout_s: float


# -- request body -------------------------------------------------------------------------------


async def limit_upload_size(request: Request) -> None:
    """Runs before LiteLLM's auth reads the body: refuse oversized uploads with 413 early."""
    limit = SETTINGS.docling_max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise _too_large(limit)
    # Starlette serves body()/form() from _body once set, so nothing reads the socket twice.
    request._body = bytes(received)


def _too_large(limit: int) -> ProxyException:
    return _bad_request(f"Upload too large: the limit is {limit // (1024 * 1024)} MB.", 413, "files")


def _model_of(body: Mapping[str, Any], request: Request) -> str:
    model = body.get("model")
    if model is None and request.method == "GET":
        model = request.query_params.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad_request("'model' is required.", 400, "model")
    return model.strip()


def _check_subpath(request: Request, subpath: str) -> str:
    """Only plain segments under docling-serve's /v1: no dot segments, no encoded separators."""
    raw = request.scope.get("raw_path") or b""
    if any(marker in raw.lower() for marker in _ENCODED_SEPARATORS):
        raise _bad_request("Invalid docling path.", 400, "path")
    segments = subpath.split("/")
    if not subpath or any(not _SAFE_SEGMENT.match(segment) for segment in segments):
        raise _bad_request("Invalid docling path.", 400, "path")
    return "/".join(segments)


def _timeout(body: Mapping[str, Any], limit: float) -> float:
    """The caller may shorten the route's server-side timeout, never lengthen it (shared pool)."""
    value = body.get("timeout")
    if value is None:
        return limit
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = float(value)
    except (TypeError, ValueError):
        raise _bad_request("'timeout' must be a number of seconds.", 400, "timeout") from None
    if not 0 < seconds <= limit:
        raise _bad_request(f"'timeout' must be more than 0 and at most {limit:g} seconds.", 400, "timeout")
    return seconds


# -- the shared relay ----------------------------------------------------------------------------

Forward = Callable[[catalog.Deployment, Mapping[str, Any]], httpx.Request]
Measure = Callable[[catalog.Deployment, Mapping[str, Any], Any], usage.Usage]


@dataclass(frozen=True, slots=True)
class _Steps:
    """Route-specific steps around the upstream call (docling: URL policy, task owner, pages)."""

    before_upstream: Callable[[str], Awaitable[None]]  # gets the public model name
    respond: Callable[[catalog.Deployment, httpx.Response], Awaitable[tuple[bytes, usage.Usage]]]


async def _relay(  # noqa: PLR0912, PLR0917  one relay for every pass-through shape; splitting it would scatter the header rules
    request: Request,
    user_api_key_dict: UserAPIKeyAuth,
    route: _Route,
    build: Forward,
    measure: Measure,
    body: Mapping[str, Any] | None = None,
    steps: _Steps | None = None,
) -> Response:
    from litellm.proxy import proxy_server  # noqa: PLC0415  proxy_server builds LiteLLM's whole app on import: reached only inside the running proxy

    started = datetime.now()
    if body is None:
        body = await read_request_body(request)
    processor = ProxyBaseLLMRequestProcessing(data={})
    try:
        model = _model_of(body, request)
        try:
            catalog.require(model, route.capability, route.endpoint)
        except catalog.CatalogError as exc:
            raise _bad_request(exc.message, exc.status, "model") from None
        if "model" not in body:
            # The model came from the query string, which LiteLLM's auth does not read.
            await _enforce_model_access(user_api_key_dict, model, request)
        timeout = _timeout(body, route.timeout_s)

        client_metadata = body.get("metadata")
        processor.data = {
            "model": model,
            "metadata": dict(client_metadata) if isinstance(client_metadata, dict) else {},
        }
        if isinstance(body.get("user"), str):
            processor.data["user"] = body["user"]  # end-user attribution, as on chat
        data, logging_obj = await processor.common_processing_pre_call_logic(
            request=request,
            general_settings=proxy_server.general_settings,
            user_api_key_dict=user_api_key_dict,
            proxy_logging_obj=proxy_server.proxy_logging_obj,
            proxy_config=proxy_server.proxy_config,
            route_type="allm_passthrough_route",
            version=getattr(proxy_server, "version", None),
            llm_router=proxy_server.llm_router,
        )
        if steps is not None:
            await steps.before_upstream(model)
        try:
            deployment = await catalog.pick_deployment(str(data.get("model") or model), data)
        except catalog.CatalogError as exc:
            raise _bad_request(exc.message, exc.status, "model") from None
        usage.attach_deployment(logging_obj, data, deployment, route.endpoint, _loggable(body))

        upstream_request = build(deployment, body)
        # Waiting for a free pooled connection is bounded like connecting: a busy pool fails fast.
        upstream_request.extensions["timeout"] = httpx.Timeout(
            timeout, connect=SETTINGS.connect_timeout_s, pool=SETTINGS.connect_timeout_s
        ).as_dict()
        try:
            upstream = await _http().send(upstream_request)
        except httpx.PoolTimeout:
            raise _bad_request("The model server connection pool is busy; try again shortly.", 503) from None
        except httpx.TimeoutException:
            raise _bad_request(f"The model server did not answer within {timeout:g} s.", 504) from None
        except httpx.TransportError as exc:
            raise _bad_request(f"The model server is unreachable: {type(exc).__name__}.", 502) from None
        if upstream.status_code >= HTTPStatus.BAD_REQUEST:
            raise _bad_request(
                f"The model server answered {upstream.status_code}: {upstream.text[:2000]}", upstream.status_code
            )
        if steps is None:
            content, consumed = upstream.content, measure(deployment, body, _json_or_none(upstream))
        else:
            content, consumed = await steps.respond(deployment, upstream)
        usage.record_success(
            logging_obj,
            deployment,
            consumed,
            started=started,
            ended=datetime.now(),
            call_id=data.get("litellm_call_id"),
        )
        headers = {
            "x-litellm-model-id": deployment.model_id or "",
            "x-litellm-response-cost": f"{consumed.cost:.10g}",
        }
        if "content-disposition" in upstream.headers:
            headers["content-disposition"] = upstream.headers["content-disposition"]
        return Response(
            content=content,
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type", "application/json"),
            headers=headers,
        )
    except Exception as exc:  # noqa: BLE001 - every failure goes through LiteLLM's failure hooks
        raise await processor.handle_llm_api_exception(
            e=exc, user_api_key_dict=user_api_key_dict, proxy_logging_obj=proxy_server.proxy_logging_obj
        ) from None


async def _enforce_model_access(user_api_key_dict: UserAPIKeyAuth, model: str, request: Request) -> None:
    from litellm.proxy import proxy_server  # noqa: PLC0415  proxy_server builds LiteLLM's whole app on import: reached only inside the running proxy

    await enforce_key_and_fallback_model_access(
        valid_token=user_api_key_dict,
        request_data={"model": model},
        route=get_request_route(request),
        request=request,
        llm_model_list=proxy_server.llm_model_list,
        llm_router=proxy_server.llm_router,
    )


def _json_or_none(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _loggable(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request as logged: uploads reduced to name and size."""
    return {
        key: {"filename": value.filename, "size": value.size} if isinstance(value, UploadFile) else value
        for key, value in body.items()
        if key not in ("metadata", "litellm_metadata")
    }


def _auth_headers(deployment: catalog.Deployment) -> dict[str, str]:
    # The caller's virtual key stays here; the model server sees the deployment's own key.
    return {"Authorization": f"Bearer {deployment.api_key}"} if deployment.api_key else {}


def _forward_json(body: Mapping[str, Any], drop: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in drop}


# -- tokenize ------------------------------------------------------------------------------------


def _tokenize_request(path: str) -> Forward:
    def build(deployment: catalog.Deployment, body: Mapping[str, Any]) -> httpx.Request:
        forwarded = _forward_json(body, _PROXY_FIELDS)
        forwarded["model"] = deployment.backend_model
        return _http().build_request(
            "POST", f"{deployment.server_root}{path}", json=forwarded, headers=_auth_headers(deployment)
        )

    return build


def _measure_tokenize(deployment: catalog.Deployment, body: Mapping[str, Any], payload: Any) -> usage.Usage:
    count = payload.get("count") if isinstance(payload, Mapping) else None
    tokens = count if isinstance(count, int) else 0
    return usage.Usage(prompt_tokens=tokens, cost=usage.token_cost(deployment, tokens))


def _measure_detokenize(deployment: catalog.Deployment, body: Mapping[str, Any], payload: Any) -> usage.Usage:
    ids = body.get("tokens")
    tokens = len(ids) if isinstance(ids, list) else 0
    return usage.Usage(prompt_tokens=tokens, cost=usage.token_cost(deployment, tokens))


# -- docling -------------------------------------------------------------------------------------


def _docling_request(
    subpath: str,
    method: str,
    query: Mapping[str, str],
    forwarded: Mapping[str, Any] | None,
    fields: list[tuple[str, Any]] | None,
) -> Forward:
    def build(deployment: catalog.Deployment, body: Mapping[str, Any]) -> httpx.Request:
        url = f"{deployment.server_root}/v1/{subpath}"
        params = {k: v for k, v in query.items() if k != "model"}
        headers = _auth_headers(deployment)
        if method == "GET":
            return _http().build_request("GET", url, params=params, headers=headers)
        if fields is not None:
            return _multipart_request(url, params, headers, fields)
        return _http().build_request("POST", url, params=params, json=forwarded or {}, headers=headers)

    return build


def _multipart_request(
    url: str, params: Mapping[str, str], headers: dict[str, str], items: list[tuple[str, Any]]
) -> httpx.Request:
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, tuple[str, Any, str]]] = []
    for name, value in items:
        if isinstance(value, UploadFile):
            value.file.seek(0)
            files.append(
                (name, (value.filename or "upload", value.file, value.content_type or "application/octet-stream"))
            )
        else:
            fields.append((name, str(value)))
    return _http().build_request("POST", url, params=params, data=_grouped(fields), files=files, headers=headers)


def _grouped(fields: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    grouped: dict[str, str | list[str]] = {}
    for name, value in fields:
        existing = grouped.get(name)
        if existing is None:
            grouped[name] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            grouped[name] = [existing, value]
    return grouped


def _not_measured(deployment: catalog.Deployment, body: Mapping[str, Any], payload: Any) -> usage.Usage:
    return usage.Usage()  # docling calls are measured by _DoclingCall.respond


@dataclass(slots=True)
class _DoclingCall:
    """One docling-serve call: what it may fetch, whose task it touches, what it is charged."""

    endpoint: docling.Endpoint
    owner: str  # LiteLLM token hash of the calling key
    forwarded: dict[str, Any] | None  # JSON body as forwarded
    fields: list[tuple[str, Any]] | None  # multipart items as forwarded
    strip_json: bool  # the proxy added the json export to count pages
    model: str = ""
    task: docling_tasks.TaskRecord | None = None

    def steps(self) -> _Steps:
        return _Steps(before_upstream=self.before_upstream, respond=self.respond)

    async def before_upstream(self, model: str) -> None:
        self.model = model
        try:
            if self.endpoint.kind == "convert":
                if self.fields is not None:
                    await docling.check_form(self.fields, SOURCE_POLICY)
                else:
                    await docling.check_json(self.forwarded or {}, SOURCE_POLICY)
                return
            task = await TASKS.lookup(self.endpoint.task_id)
        except docling.DoclingError as exc:
            raise _bad_request(exc.message, exc.status, exc.field) from None
        except UrlRefused as exc:
            raise _bad_request(str(exc), 400, exc.field) from None
        except docling_tasks.TaskStoreUnavailable:
            raise _bad_request("The task store is unavailable; try again shortly.", 503) from None
        # Another key's task answers exactly like an unknown one, so task ids cannot be probed.
        if task is None or not task.owner or task.owner != self.owner or task.model != model:
            raise _bad_request("Task not found.", 404, "task_id")
        self.task = task

    async def respond(self, deployment: catalog.Deployment, upstream: httpx.Response) -> tuple[bytes, usage.Usage]:
        try:
            return await self._respond(deployment, upstream)
        except docling_tasks.TaskStoreUnavailable:
            raise _bad_request("The task store is unavailable; try again shortly.", 503) from None

    async def _respond(self, deployment: catalog.Deployment, upstream: httpx.Response) -> tuple[bytes, usage.Usage]:
        kind = self.endpoint.kind
        if kind == "status":
            return upstream.content, usage.Usage()
        if kind == "convert" and self.endpoint.is_async:
            payload = _json_or_none(upstream)
            task_id = payload.get("task_id") if isinstance(payload, Mapping) else None
            if not isinstance(task_id, str) or not task_id:
                raise _bad_request("The model server answered without a task id.", 502)
            await TASKS.bind(task_id, docling_tasks.TaskRecord(self.owner, self.model, self.strip_json))
            return upstream.content, usage.Usage()  # charged when the result is fetched
        strip = self.strip_json if self.task is None else self.task.strip_json
        answer = docling.read_answer(upstream.headers.get("content-type", ""), upstream.content, strip)
        if kind == "result" and not await TASKS.claim_charge(self.endpoint.task_id):
            return answer.content, usage.Usage()  # this result was charged on an earlier fetch
        return answer.content, usage.Usage(pages=answer.pages, cost=usage.conversion_cost(deployment, answer.pages))


# -- routes --------------------------------------------------------------------------------------

router: Final = APIRouter(tags=["litemaas capabilities"])
Authenticated = Annotated[UserAPIKeyAuth, Depends(user_api_key_auth)]


@router.post("/v1/tokenize")
async def tokenize(request: Request, user_api_key_dict: Authenticated) -> Response:
    """vLLM ``/tokenize`` of the model's deployment: ``{model, prompt | messages}``."""
    route = _Route("/v1/tokenize", catalog.TOKENIZE, SETTINGS.tokenize_timeout_s)
    return await _relay(request, user_api_key_dict, route, _tokenize_request("/tokenize"), _measure_tokenize)


@router.post("/v1/detokenize")
async def detokenize(request: Request, user_api_key_dict: Authenticated) -> Response:
    """vLLM ``/detokenize`` of the model's deployment: ``{model, tokens}``."""
    route = _Route("/v1/detokenize", catalog.TOKENIZE, SETTINGS.tokenize_timeout_s)
    return await _relay(request, user_api_key_dict, route, _tokenize_request("/detokenize"), _measure_detokenize)


@router.api_route(
    DOCLING_PREFIX + "/{subpath:path}", methods=["GET", "POST"], dependencies=[Depends(limit_upload_size)]
)
async def docling_route(subpath: str, request: Request, user_api_key_dict: Authenticated) -> Response:
    """docling-serve's conversion and task API for ``document_conversion`` models (JSON or multipart)."""
    safe = _check_subpath(request, subpath)
    try:
        endpoint = docling.endpoint(safe, request.method)
    except docling.DoclingError as exc:
        raise _bad_request(exc.message, exc.status, exc.field) from None
    body = dict(await read_request_body(request))
    forwarded: dict[str, Any] | None = None
    fields: list[tuple[str, Any]] | None = None
    if "multipart/form-data" in request.headers.get("content-type", ""):
        # LiteLLM's parsed body keeps one value per field; the form keeps every file and option.
        form = await request.form()
        fields = [(name, value) for name, value in form.multi_items() if name not in _PROXY_FIELDS | {"model"}]
    elif request.method == "POST":
        forwarded = _forward_json(body, _PROXY_FIELDS | {"model"})
    strip_json = False
    if endpoint.kind == "convert" and fields is not None:
        strip_json = docling.with_json_export_form(fields)
    elif endpoint.kind == "convert" and forwarded is not None:
        strip_json = docling.with_json_export(forwarded)
    call = _DoclingCall(endpoint, user_api_key_dict.token or "", forwarded, fields, strip_json)
    route = _Route(f"{DOCLING_PREFIX}/{safe}", catalog.DOCUMENT_CONVERSION, SETTINGS.docling_timeout_s)
    build = _docling_request(safe, request.method, dict(request.query_params), forwarded, fields)
    return await _relay(request, user_api_key_dict, route, build, _not_measured, body, call.steps())


def install(app: FastAPI | None = None) -> bool:
    """Mount the routes on the proxy app once per process; returns False if already mounted."""
    if app is None:
        from litellm.proxy.proxy_server import app as proxy_app  # noqa: PLC0415  proxy_server builds LiteLLM's whole app on import: reached only inside the running proxy

        app = proxy_app
    if getattr(app.state, "litemaas_routes", False):
        return False
    app.include_router(router)
    for path in (*TOKENIZE_PATHS, DOCLING_PREFIX + "/*"):
        if path not in LiteLLMRoutes.openai_routes.value:
            LiteLLMRoutes.openai_routes.value.append(path)
    app.state.litemaas_routes = True
    log.info("litemaas_hooks.routes.installed paths=%s", [*TOKENIZE_PATHS, DOCLING_PREFIX + "/*"])
    return True
