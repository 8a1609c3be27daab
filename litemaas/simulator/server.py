"""The model simulator: one OpenAI/vLLM/docling-serve compatible server for tests and laptops.

It stands in for every GPU model server at once (any model name is accepted), answers
deterministically, and keeps the last requests it received at ``GET /_sim/requests`` so tests
can see exactly what the proxy forwarded. Per-request work is kept small because the
benchmarks push chat completions through it.

In-band fault injection (only meaningful against the simulator): a chat message, prompt or
embeddings input containing ``[[sim:status=503]]`` gets that HTTP status back, and
``[[sim:delay_ms=250]]`` delays the answer, ``[[sim:itl_ms=50]]`` spaces a streamed answer's chunks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import os
import re
import struct
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from litemaas.simulator import docling, guard, tokenizer

_MAX_TASKS = 100  # finished conversion tasks kept for polling

try:  # orjson ships with LiteLLM's proxy extras; it keeps 768-float embeddings cheap.
    import orjson

    def _dumps(value: object) -> bytes:
        return orjson.dumps(value)

    def _loads(raw: bytes) -> object:
        return orjson.loads(raw)

except ImportError:  # pragma: no cover - exercised only without orjson
    import json

    def _dumps(value: object) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def _loads(raw: bytes) -> object:
        return json.loads(raw)


DEMO_BACKEND_MODELS: Final = (
    "ibm-granite/granite-3.2-8b-instruct",
    "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "ibm-granite/granite-4.0-h-tiny",
    "codellama/CodeLlama-7b-Instruct-hf",
    "nomic-ai/nomic-embed-text-v1.5",
    "ibm-granite/granite-docling-258M",
    "meta-llama/Llama-Guard-3-1B",
)
EMBEDDING_DIM: Final = 768
_DIRECTIVE: Final = re.compile(r"\[\[sim:(status|delay_ms|itl_ms)=(\d{1,6})\]\]")
_REDACTED_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "x-litellm-api-key",
    }
)
_ANSWER_WORDS: Final = 40


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """Timing and size knobs; ``from_env`` reads ``LITEMAAS_SIM_*``."""

    latency_ms: float = 0.0  # added before every non-streaming answer
    ttft_ms: float = 0.0  # before the first streamed content chunk
    itl_ms: float = 0.0  # between streamed chunks
    history: int = 200  # requests kept for /_sim/requests (0 disables recording)
    max_model_len: int = 32768
    models: tuple[str, ...] = field(default=DEMO_BACKEND_MODELS)

    @classmethod
    def from_env(cls, latency_ms: float | None = None, ttft_ms: float | None = None) -> SimulatorSettings:
        models = os.environ.get("LITEMAAS_SIM_MODELS")
        return cls(
            latency_ms=latency_ms if latency_ms else _env_float("LITEMAAS_SIM_LATENCY_MS", 0.0),
            ttft_ms=ttft_ms if ttft_ms else _env_float("LITEMAAS_SIM_TTFT_MS", 0.0),
            itl_ms=_env_float("LITEMAAS_SIM_ITL_MS", 0.0),
            history=_env_int("LITEMAAS_SIM_HISTORY", 200),
            max_model_len=_env_int("LITEMAAS_SIM_MAX_MODEL_LEN", 32768),
            models=tuple(m.strip() for m in models.split(",") if m.strip()) if models else DEMO_BACKEND_MODELS,
        )


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(value: object, status: int = 200) -> Response:
    return Response(_dumps(value), status_code=status, media_type="application/json")


@dataclass(frozen=True, slots=True)
class _ZipResult:
    content: bytes


_TaskResult = dict[str, object] | _ZipResult


def _task_answer(result: _TaskResult) -> Response:
    if isinstance(result, _ZipResult):
        return Response(
            result.content,
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="converted_docs.zip"'},
        )
    return _json(result)


def _error(message: str, status: int) -> Response:
    kind = "BadRequestError" if status < HTTPStatus.INTERNAL_SERVER_ERROR else "InternalServerError"
    return _json(
        {
            "error": {"message": message, "type": kind, "code": status},
            "object": "error",
        },
        status,
    )


def _directives(texts: Sequence[str]) -> tuple[int | None, float]:
    status: int | None = None
    delay = 0.0
    for text in texts:
        if "[[sim:" not in text:
            continue
        for name, value in _DIRECTIVE.findall(text):
            if name == "status":
                status = int(value)
            elif name == "delay_ms":
                delay = float(value)
    return status, delay


def _itl_directive(texts: Sequence[str]) -> float | None:
    """The ``[[sim:itl_ms=N]]`` of a request (ms between streamed chunks), if it carries one."""
    found = None
    for text in texts:
        if "[[sim:" in text:
            for name, value in _DIRECTIVE.findall(text):
                if name == "itl_ms":
                    found = float(value)
    return found


def _messages(body: Mapping[str, Any]) -> list[Mapping[str, object]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, Mapping) for m in messages):
        raise _BadRequest("'messages' must be a non-empty list of message objects")
    return messages


def _answer(model: str, messages: Sequence[Mapping[str, object]]) -> str:
    if guard.is_guard_model(model):
        return guard.verdict(messages)
    last = guard.screened_text(messages) or tokenizer.message_text(messages[-1].get("content"))
    words = last.split()[:_ANSWER_WORDS]
    digest = hashlib.sha256(last.encode()).hexdigest()[:8]
    return f"Simulated answer from {model} [{digest}]: you said: {' '.join(words)}"


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise _BadRequest(f"'{key}' must be at least 1")
            return value
    return None


def _vector(seed: bytes, dimensions: int) -> list[float]:
    raw = b"".join(hashlib.sha512(seed + i.to_bytes(2, "big")).digest() for i in range(math.ceil(dimensions / 64)))
    values = [b - 127.5 for b in raw[:dimensions]]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


class Simulator:
    """Request handlers plus the bounded request history."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.requests: deque[dict[str, object]] = deque(maxlen=max(settings.history, 1))
        self.tasks: OrderedDict[str, _TaskResult] = OrderedDict()

    # -- introspection -------------------------------------------------------------------
    def remember(self, request: Request, body: object = None, form: object = None) -> None:
        if self.settings.history <= 0:
            return
        headers: dict[str, str] = {}
        auth_sha256: str | None = None
        for name, value in request.headers.items():
            if name in _REDACTED_HEADERS:
                if name == "authorization":
                    auth_sha256 = hashlib.sha256(value.encode()).hexdigest()
                continue
            headers[name] = value
        self.requests.append(
            {
                "time": time.time(),
                "method": request.method,
                "path": request.url.path,
                "query": str(request.url.query),
                "headers": headers,
                "auth_sha256": auth_sha256,
                "json": body,
                "form": form,
            }
        )

    async def list_requests(self, request: Request) -> Response:
        path = request.query_params.get("path")
        limit = int(request.query_params.get("limit", "1000"))
        items = [entry for entry in self.requests if path is None or entry["path"] == path]
        return _json({"data": items[-limit:] if limit else []})

    async def clear_requests(self, request: Request) -> Response:
        self.requests.clear()
        return _json({"cleared": True})

    # -- helpers ---------------------------------------------------------------------------
    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = _loads(raw) if raw else None
        except ValueError:
            self.remember(request, body={"_raw": raw[:2000].decode(errors="replace")})
            raise _BadRequest("request body is not valid JSON") from None
        self.remember(request, body=body)
        if not isinstance(body, dict):
            raise _BadRequest("request body must be a JSON object")
        return body

    async def _delay(self, extra_ms: float = 0.0) -> None:
        total = self.settings.latency_ms + extra_ms
        if total > 0:
            await asyncio.sleep(total / 1000)

    def _within_context(self, text: str, what: str, completion_tokens: int = 0) -> int | Response:
        """Token count of ``text``, or vLLM's 400 when it cannot fit the model's context."""
        limit = self.settings.max_model_len
        # Every token covers at most three UTF-8 bytes (so at most three characters): a text
        # longer than 3 * limit characters cannot fit, and is refused without tokenizing it.
        if len(text) > 3 * limit:
            return _error(
                f"This model's maximum context length is {limit} tokens. However, you requested more than "
                f"{limit} tokens in the {what}, Please reduce the length of the {what}.",
                400,
            )
        count = tokenizer.count(text)
        if count + completion_tokens > limit:
            return _error(
                f"This model's maximum context length is {limit} tokens. However, you requested "
                f"{count + completion_tokens} tokens ({count} in the {what}, {completion_tokens} in the completion). "
                f"Please reduce the length of the {what} or completion.",
                400,
            )
        return count

    # -- OpenAI-compatible -----------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    async def models(self, request: Request) -> Response:
        created = int(time.time())
        data = [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "litemaas-simulator",
                "root": name,
                "max_model_len": self.settings.max_model_len,
            }
            for name in self.settings.models
        ]
        return _json({"object": "list", "data": data})

    async def chat_completions(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            model = str(body.get("model") or "simulated-model")
            messages = _messages(body)
            max_tokens = _max_tokens(body)
        except _BadRequest as exc:
            return _error(str(exc), exc.status)
        status, delay = _directives([tokenizer.message_text(m.get("content")) for m in messages])
        if status is not None:
            await self._delay(delay)
            return _error(f"simulated failure ({status})", status)

        prompt_tokens = self._within_context(tokenizer.render_chat(messages), "messages", max_tokens or 0)
        if isinstance(prompt_tokens, Response):
            return prompt_tokens
        pieces = tokenizer.split_text(_answer(model, messages))
        finish_reason = "stop"
        if max_tokens is not None and len(pieces) > max_tokens:
            pieces = pieces[:max_tokens]
            finish_reason = "length"
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        }
        completion_id = f"chatcmpl-sim-{uuid.uuid4().hex}"
        created = int(time.time())
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            return StreamingResponse(
                self._stream(
                    completion_id,
                    created,
                    model,
                    pieces,
                    finish_reason,
                    usage,
                    include_usage,
                    delay,
                    _itl_directive([tokenizer.message_text(m.get("content")) for m in messages]),
                ),
                media_type="text/event-stream",
            )
        await self._delay(delay)
        return _json(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "".join(pieces),
                            "tool_calls": [],
                        },
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": usage,
            }
        )

    async def _stream(  # noqa: PLR0913, PLR0917  the simulated stream's knobs, passed straight from the request
        self,
        completion_id: str,
        created: int,
        model: str,
        pieces: Sequence[str],
        finish_reason: str,
        usage: Mapping[str, int],
        include_usage: bool,
        delay_ms: float,
        itl_ms: float | None = None,
    ) -> AsyncIterator[bytes]:
        def chunk(delta: Mapping[str, object], finish: str | None) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
            }
            return b"data: " + _dumps(payload) + b"\n\n"

        yield chunk({"role": "assistant", "content": ""}, None)
        first = self.settings.ttft_ms + delay_ms
        if first > 0:
            await asyncio.sleep(first / 1000)
        itl = (self.settings.itl_ms if itl_ms is None else itl_ms) / 1000
        for index, piece in enumerate(pieces):
            if itl and index:
                await asyncio.sleep(itl)
            yield chunk({"content": piece}, None)
        yield chunk({}, finish_reason)
        if include_usage:
            final = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": dict(usage),
            }
            yield b"data: " + _dumps(final) + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def embeddings(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            inputs = self._embedding_inputs(body.get("input"))
            dimensions = body.get("dimensions") or EMBEDDING_DIM
            if not isinstance(dimensions, int) or not 1 <= dimensions <= EMBEDDING_DIM:
                raise _BadRequest(f"'dimensions' must be between 1 and {EMBEDDING_DIM}")
            encoding = body.get("encoding_format") or "float"
            if encoding not in ("float", "base64"):
                raise _BadRequest("'encoding_format' must be 'float' or 'base64'")
        except _BadRequest as exc:
            return _error(str(exc), exc.status)
        status, delay = _directives([text for text, _ in inputs])
        if status is not None:
            return _error(f"simulated failure ({status})", status)
        counted: list[tuple[str, int]] = []
        for text, given in inputs:
            tokens = given
            if tokens < 0:
                within = self._within_context(text, "input")
                if isinstance(within, Response):
                    return within
                tokens = within
            counted.append((text, tokens))
        inputs = counted
        model = str(body.get("model") or "simulated-embedding")
        data: list[dict[str, object]] = []
        prompt_tokens = 0
        for index, (text, tokens) in enumerate(inputs):
            prompt_tokens += tokens
            vector = _vector(text.encode(), dimensions)
            embedding: object = (
                base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode() if encoding == "base64" else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        await self._delay(delay)
        return _json(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "total_tokens": prompt_tokens,
                },
            }
        )

    @staticmethod
    def _embedding_inputs(value: object) -> list[tuple[str, int]]:
        def is_token_list(item: object) -> bool:
            return isinstance(item, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in item)

        if isinstance(value, str):
            return [(value, -1)]
        if isinstance(value, list) and value:
            if all(isinstance(v, str) for v in value):
                return [(v, -1) for v in value]
            if is_token_list(value):
                return [(repr(value), len(value))]
            if all(is_token_list(v) for v in value):
                return [(repr(v), len(v)) for v in value]
        raise _BadRequest("'input' must be a string, a list of strings or token lists")

    # -- vLLM tokenizer API ----------------------------------------------------------------
    async def tokenize(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            if "messages" in body:
                messages = _messages(body)
                text = tokenizer.render_chat(messages, bool(body.get("add_generation_prompt", True)))
            elif isinstance(body.get("prompt"), str):
                text = body["prompt"]
            else:
                raise _BadRequest("either 'prompt' (string) or 'messages' is required")
        except _BadRequest as exc:
            return _error(str(exc), exc.status)
        status, delay = _directives([text])
        if status is not None:
            return _error(f"simulated failure ({status})", status)
        tokens = tokenizer.encode(text)
        token_strs = None
        if body.get("return_token_strs"):
            token_strs = [tokenizer.token_bytes(t).decode(errors="replace") for t in tokens]
        await self._delay(delay)
        return _json(
            {
                "count": len(tokens),
                "max_model_len": self.settings.max_model_len,
                "tokens": tokens,
                "token_strs": token_strs,
            }
        )

    async def detokenize(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            tokens = body.get("tokens")
            if not isinstance(tokens, list):
                raise _BadRequest("'tokens' must be a list of token ids")
            prompt = tokenizer.decode(tokens)
        except tokenizer.InvalidTokenError as exc:
            return _error(str(exc), 400)
        except _BadRequest as exc:
            return _error(str(exc), exc.status)
        await self._delay()
        return _json({"prompt": prompt})

    # -- docling-serve -----------------------------------------------------------------------
    async def convert_source(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            options = body.get("options") or {}
            if not isinstance(options, dict):
                raise _BadRequest("'options' must be an object", 422)
            documents = docling.sources_from_json(body)
            target = body.get("target") or {}
            if not isinstance(target, dict) or target.get("kind", "inbody") not in ("inbody", "zip"):
                raise docling.ConversionError("the simulator supports only the inbody and zip targets")
        except _BadRequest as exc:
            return _error(str(exc), exc.status)
        except docling.ConversionError as exc:
            return _json({"detail": str(exc)}, 422)
        zipped = target.get("kind") == "zip"
        return await self._convert(documents, options, request.url.path.endswith("/async"), zipped)

    async def convert_file(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if "multipart/form-data" not in content_type:
            self.remember(request)
            return _json({"detail": "expected multipart/form-data with 'files'"}, 422)
        form = await request.form()
        fields: dict[str, object] = {}
        files: list[dict[str, object]] = []
        documents: list[docling.SourceDocument] = []
        options: dict[str, object] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                content = await value.read()
                files.append(
                    {
                        "field": name,
                        "filename": value.filename,
                        "size": len(content),
                        "content_type": value.content_type,
                    }
                )
                if name == "files":
                    documents.append(
                        docling.SourceDocument(
                            filename=value.filename or "document",
                            content=content,
                            origin="file",
                        )
                    )
                continue
            existing = fields.get(name)
            if existing is None:
                fields[name] = value
            elif isinstance(existing, list):
                existing.append(value)
            else:
                fields[name] = [existing, value]
            if name == "to_formats":
                formats = options.setdefault("to_formats", [])
                if not isinstance(formats, list):
                    raise RuntimeError("invariant broken: isinstance(formats, list)")
                formats.append(value)
            else:
                options[name] = value
        await form.close()
        self.remember(request, form={"fields": fields, "files": files})
        if not documents:
            return _json({"detail": "no files uploaded in field 'files'"}, 422)
        zipped = fields.get("target_type") == "zip"
        return await self._convert(documents, options, request.url.path.endswith("/async"), zipped)

    async def _convert(
        self,
        documents: Sequence[docling.SourceDocument],
        options: Mapping[str, object],
        is_async: bool,
        zipped: bool,
    ) -> Response:
        started = time.perf_counter()
        try:
            to_formats = docling.to_formats_from(options)
            page_break = options.get("md_page_break_placeholder")
            converted = [
                docling.convert(doc, to_formats, page_break if isinstance(page_break, str) else None)[0]
                for doc in documents
            ]
        except docling.ConversionError as exc:
            return _json({"detail": str(exc)}, 422)
        await self._delay()
        result: _TaskResult
        if len(converted) > 1 or zipped:
            result = _ZipResult(docling.zip_archive(converted))
        else:
            result = {
                "document": converted[0],
                "status": "success",
                "errors": [],
                "processing_time": time.perf_counter() - started,
                "timings": {},
            }
        if not is_async:
            return _task_answer(result)
        task_id = str(uuid.uuid4())
        self.tasks[task_id] = result
        while len(self.tasks) > _MAX_TASKS:
            self.tasks.popitem(last=False)
        return _json(self._task_status(task_id))

    @staticmethod
    def _task_status(task_id: str) -> dict[str, object]:
        return {
            "task_id": task_id,
            "task_type": "convert",
            "task_status": "success",
            "task_position": None,
            "task_meta": None,
            "error_message": None,
        }

    async def task_poll(self, request: Request) -> Response:
        self.remember(request)
        task_id = request.path_params["task_id"]
        if task_id not in self.tasks:
            return _json({"detail": "Task not found."}, 404)
        return _json(self._task_status(task_id))

    async def task_result(self, request: Request) -> Response:
        self.remember(request)
        result = self.tasks.get(request.path_params["task_id"])
        if result is None:
            return _json(
                {"detail": "Task result not found. Please wait for a completion status."},
                404,
            )
        return _task_answer(result)


def create_app(settings: SimulatorSettings | None = None) -> Starlette:
    sim = Simulator(settings or SimulatorSettings.from_env())
    routes = [
        Route("/health", sim.health, methods=["GET"]),
        Route("/v1/models", sim.models, methods=["GET"]),
        Route("/v1/chat/completions", sim.chat_completions, methods=["POST"]),
        Route("/v1/embeddings", sim.embeddings, methods=["POST"]),
        Route("/tokenize", sim.tokenize, methods=["POST"]),
        Route("/detokenize", sim.detokenize, methods=["POST"]),
        Route("/v1/convert/source", sim.convert_source, methods=["POST"]),
        Route("/v1/convert/source/async", sim.convert_source, methods=["POST"]),
        Route("/v1/convert/file", sim.convert_file, methods=["POST"]),
        Route("/v1/convert/file/async", sim.convert_file, methods=["POST"]),
        Route("/v1/status/poll/{task_id}", sim.task_poll, methods=["GET"]),
        Route("/v1/result/{task_id}", sim.task_result, methods=["GET"]),
        Route("/_sim/requests", sim.list_requests, methods=["GET"]),
        Route("/_sim/requests", sim.clear_requests, methods=["DELETE"]),
    ]
    return Starlette(routes=routes)


def run(
    host: str = "127.0.0.1",
    port: int = 8100,
    latency_ms: float = 0.0,
    ttft_ms: float = 0.0,
) -> None:
    import uvicorn

    settings = SimulatorSettings.from_env(latency_ms=latency_ms, ttft_ms=ttft_ms)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # A stand-in for model servers: on SIGTERM, open streams get 1 s, not an unbounded wait.
        timeout_graceful_shutdown=1,
    )
