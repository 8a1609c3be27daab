"""Llama Guard safety screening as a LiteLLM ``CustomGuardrail``.

Enablement, any of:

- ``default_on: true`` in the guardrail's config: every request;
- ``litemaas_guardrails: [<name>]`` in a key's or team's metadata (set by admins through
  ``/key/generate``, ``/key/update``, ``/team/update``): that key/team. LiteLLM's own
  ``guardrails`` key metadata is an Enterprise feature in 1.106.12
  (``litellm_pre_call_utils.add_guardrails_from_key_or_team_metadata`` calls
  ``premium_user_check``), so the hook reads its own metadata key, from the admin-set key/team
  metadata only (``CustomGuardrail._get_admin_metadata``), never from the request body;
- ``guardrails: [<name>]`` in a deployment's ``litellm_params``: that model (LiteLLM's
  model-level guardrails);
- ``guardrails: [<name>]`` in the request body: a caller may opt in, never out.

Requests are screened before the model is called (streaming or not), whole: every text the
request carries, on every endpoint (see ``screening``), is judged as the user's turn, so
harmful content cannot hide in an earlier turn, a prefilled assistant turn, a system prompt,
tool-call arguments or Responses ``instructions``. Long requests are judged in overlapping
windows of ``screen_window_chars``; requests over ``screen_max_chars`` of text, and anything the
text-only safety model cannot read (images, audio, files, token ids, references to stored
content, unknown shapes, endpoints it does not know), are refused with a 400 (fail closed).
Answers are screened too when ``screen_responses`` is set (streamed answers are then buffered).

The safety model is called directly on its deployment's OpenAI-compatible
``/chat/completions`` (chosen by LiteLLM's router), outside LiteLLM's logging pipeline, so the
user is charged once for their own request and never for the screening. When the safety model
cannot answer, the request is refused with a 503 (``fail_open: false``, the default) or let
through with a warning (``fail_open: true``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Self, cast

import httpx
from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.guardrails import GuardrailEventHooks

from litemaas_hooks import catalog, endpoints, screening

log: Final = logging.getLogger("litemaas_hooks.safety")

CATEGORIES: Final = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Suicide & Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}
KEY_METADATA_FIELD: Final = "litemaas_guardrails"
_WINDOW_OVERLAP: Final = 400  # chars two windows share, so a phrase cut at a boundary is seen whole
_GUARDRAIL_INIT_PARAMS: Final = frozenset(inspect.signature(CustomGuardrail.__init__).parameters) - {"self", "kwargs"}
_CATEGORY: Final = re.compile(r"\bS\d{1,2}\b")


class SafetyUnavailable(Exception):
    """The safety model gave no usable verdict."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Llama Guard's answer: ``safe``, or ``unsafe`` with hazard categories."""

    safe: bool
    categories: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Verdict:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        first = lines[0].lower() if lines else ""
        if first == "safe":
            return cls(safe=True)
        if first == "unsafe":
            return cls(safe=False, categories=tuple(_CATEGORY.findall(" ".join(lines[1:]))))
        raise SafetyUnavailable(f"unexpected verdict {text[:40]!r}")

    def describe(self) -> str:
        named = [f"{c}: {CATEGORIES[c]}" if c in CATEGORIES else c for c in self.categories]
        return ", ".join(named) or "unspecified category"


def windows(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, each sharing its first 400 with the previous."""
    if len(text) <= size:
        return [text]
    step = size - _WINDOW_OVERLAP
    return [text[start : start + size] for start in range(0, len(text) - _WINDOW_OVERLAP, step)]


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"))


class LlamaGuardGuardrail(CustomGuardrail):
    """Screens whole requests (and optionally answers) with a chat-protocol Llama Guard model."""

    def __new__(cls, *args: Any, screen_responses: bool | str = False, **kwargs: Any) -> Self:
        # LiteLLM streams through its fast path unless a callback's own class defines
        # async_post_call_streaming_iterator_hook (ProxyLogging.callback_capabilities checks the
        # leaf class __dict__), so only the response-screening variant defines it.
        target = _ResponseScreeningLlamaGuard if cls is LlamaGuardGuardrail and _flag(screen_responses) else cls
        return cast(Self, object.__new__(target))

    def __init__(
        self,
        *,
        safety_model: str = "llama-guard-3-1b",
        fail_open: bool | str = False,
        screen_responses: bool | str = False,
        safety_timeout: float | str = 10.0,
        screen_window_chars: int | str = 24_000,
        screen_max_chars: int | str = 500_000,
        **kwargs: Any,
    ) -> None:
        # LiteLLM passes every non-empty guardrail config field; keep the ones CustomGuardrail takes.
        super().__init__(**{key: value for key, value in kwargs.items() if key in _GUARDRAIL_INIT_PARAMS})
        self.safety_model = safety_model
        self.fail_open = _flag(fail_open)
        self.screen_responses = _flag(screen_responses)
        self.safety_timeout = float(safety_timeout)
        self.window_chars = max(int(screen_window_chars), 2 * _WINDOW_OVERLAP)
        self.max_chars = int(screen_max_chars)
        self._client: httpx.AsyncClient | None = None

    # -- selection ----------------------------------------------------------------------------

    def should_run_guardrail(self, data: Any, event_type: GuardrailEventHooks) -> bool:
        if event_type == GuardrailEventHooks.post_call and not self.screen_responses:
            return False
        if isinstance(data, Mapping) and self._is_safety_model(data.get("model")):
            return False
        if super().should_run_guardrail(data=data, event_type=event_type):
            return True
        if not isinstance(data, dict) or not self._event_hook_is_event_type(event_type):
            return False
        enabled = self._get_admin_metadata(data).get(KEY_METADATA_FIELD)
        return isinstance(enabled, list) and self.guardrail_name in enabled

    def _is_safety_model(self, model: object) -> bool:
        if not isinstance(model, str):
            return False
        if model == self.safety_model:
            return True
        found = catalog.capabilities(model)
        return found is not None and catalog.SAFETY in found and catalog.CHAT not in found

    # -- LiteLLM hooks ------------------------------------------------------------------------

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        endpoint = endpoints.resolve(call_type, data)
        try:
            texts = screening.request_text(data, endpoint.shape if endpoint else "")
        except screening.Unscreenable as exc:
            raise self._unscreenable(exc, "request") from None
        text = "\n\n".join(texts)
        if text:
            self._check_length(text)
            await self._screen(
                [[{"role": "user", "content": window}] for window in windows(text, self.window_chars)], "request"
            )
        return data

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any, response: Any) -> Any:
        try:
            text = screening.response_text(response)
        except screening.Unscreenable as exc:
            raise self._unscreenable(exc, "response") from None
        await self._screen_answer(data, text)
        return response

    # -- screening ----------------------------------------------------------------------------

    async def _screen_answer(self, request: Mapping[str, Any], answer: str) -> None:
        """Each window of the answer, judged as the assistant's turn after (the end of) the request."""
        if not answer:
            return
        context = _request_context(request)[-self.window_chars :]
        prefix = [{"role": "user", "content": context}] if context else []
        turns = [[*prefix, {"role": "assistant", "content": window}] for window in windows(answer, self.window_chars)]
        await self._screen(turns, "response")

    def _check_length(self, text: str) -> None:
        if len(text) > self.max_chars:
            raise HTTPException(
                status_code=400,
                detail={
                    "error": (
                        f"The request carries {len(text)} characters of text; safety guardrail "
                        f"'{self.guardrail_name}' screens at most {self.max_chars}. The request was refused."
                    ),
                    "guardrail": self.guardrail_name,
                },
            )

    def _unscreenable(self, exc: screening.Unscreenable, what: str) -> HTTPException:
        return HTTPException(
            status_code=400,
            detail={
                "error": (
                    f"The {what} was refused because safety guardrail '{self.guardrail_name}' cannot screen "
                    f"'{exc.field}': {exc.reason}."
                ),
                "guardrail": self.guardrail_name,
                "param": exc.field,
            },
        )

    async def _screen(self, conversations: list[list[dict[str, str]]], what: str) -> None:
        results = await asyncio.gather(*(self.classify(turns) for turns in conversations), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, SafetyUnavailable):
                raise result
        categories = [c for r in results if isinstance(r, Verdict) and not r.safe for c in r.categories]
        if any(isinstance(r, Verdict) and not r.safe for r in results):
            verdict = Verdict(safe=False, categories=tuple(dict.fromkeys(categories)))
            raise HTTPException(
                status_code=400,
                detail={
                    "error": (
                        f"The {what} was blocked by safety guardrail '{self.guardrail_name}': "
                        f"unsafe content ({verdict.describe()})."
                    ),
                    "guardrail": self.guardrail_name,
                    "categories": list(verdict.categories),
                },
            )
        failure = next((r for r in results if isinstance(r, SafetyUnavailable)), None)
        if failure is None:
            return
        if self.fail_open:
            log.warning("litemaas_hooks.safety.unavailable fail_open=true reason=%s", failure)
            return
        raise HTTPException(
            status_code=503,
            detail={
                "error": (
                    f"Safety screening is unavailable ({self.safety_model}: {failure}); "
                    f"the {what} was refused because guardrail '{self.guardrail_name}' fails closed."
                )
            },
        )

    async def classify(self, turns: list[dict[str, str]]) -> Verdict:
        """Ask the safety model; raises ``SafetyUnavailable`` instead of any transport/protocol error."""
        try:
            deployment = await catalog.pick_deployment(self.safety_model, {})
        except Exception as exc:  # noqa: BLE001 - any routing failure means "no verdict"
            raise SafetyUnavailable(f"no deployment: {exc}") from None
        if not deployment.api_base:
            raise SafetyUnavailable("deployment has no api_base")
        headers = {"Authorization": f"Bearer {deployment.api_key}"} if deployment.api_key else {}
        body = {"model": deployment.backend_model, "messages": turns, "max_tokens": 20, "temperature": 0}
        try:
            answer = await self._http().post(
                deployment.api_base.rstrip("/") + "/chat/completions",
                json=body,
                headers=headers,
                timeout=self.safety_timeout,
            )
            answer.raise_for_status()
            content = answer.json()["choices"][0]["message"]["content"]
        except httpx.HTTPStatusError as exc:
            raise SafetyUnavailable(f"HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            raise SafetyUnavailable(type(exc).__name__) from None
        except (ValueError, KeyError, IndexError, TypeError):
            raise SafetyUnavailable("malformed answer") from None
        if not isinstance(content, str):
            raise SafetyUnavailable("malformed answer")
        return Verdict.parse(content)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        return self._client


class _ResponseScreeningLlamaGuard(LlamaGuardGuardrail):
    """``screen_responses: true``: streamed answers are held back and judged as a whole."""

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        # Reached only when should_run_guardrail allowed post_call for this request.
        chunks = [chunk async for chunk in response]
        try:
            text = "".join(screening.chunk_text(chunk) for chunk in chunks)
        except screening.Unscreenable as exc:
            raise self._unscreenable(exc, "response") from None
        await self._screen_answer(request_data, text)
        for chunk in chunks:
            yield chunk


def _request_context(data: Mapping[str, Any]) -> str:
    """The request's text as context for judging an answer; best effort, the request was screened already."""
    shape = (
        endpoints.ANTHROPIC_SHAPE
        if "messages" in data
        else endpoints.PROMPT_SHAPE
        if "prompt" in data
        else endpoints.RESPONSES_SHAPE
    )
    try:
        return "\n\n".join(screening.request_text(data, shape))
    except screening.Unscreenable:
        return ""
