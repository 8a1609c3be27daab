"""What text a request carries (for the safety model), read field by field, failing closed.

Every input field of every served endpoint is read: all chat messages whatever their role
(system, developer, user, assistant prefill, tool results), content-part lists, tool-call
arguments, reasoning text, Anthropic ``system`` (string or blocks) and content blocks
(``tool_use`` input, ``tool_result``), Responses ``input`` (string or items) and
``instructions``, ``/v1/completions`` ``prompt`` (string or list of strings), embeddings
``input``. Any other request field that is not a known identifier or LiteLLM's own bookkeeping
(tool definitions, response schemas, provider extras such as vLLM's ``chat_template``) is read as
JSON text.

What a text-only classifier cannot read raises :class:`Unscreenable`, and the guardrail refuses
the request: images, audio, files, token-id prompts, encrypted or redacted reasoning, references
to content stored elsewhere (``previous_response_id``, ``conversation``, item references),
content part types not listed here, and values of unexpected shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from litemaas_hooks import endpoints


class Unscreenable(Exception):
    """A part of a request the safety model cannot read."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# Request fields that never reach the model as text: LiteLLM's bookkeeping (added before the
# hooks run; ``proxy_server_request`` and ``secret_fields`` hold the request headers; LiteLLM
# also reserves every ``litellm_*`` field), routing and credentials, identifiers, enumerations.
_NOT_CONTENT: Final = frozenset(
    {
        "metadata",
        "proxy_server_request",
        "secret_fields",
        "guardrails",
        "tags",
        "model",
        "user",
        "api_key",
        "api_base",
        "base_url",
        "api_version",
        "organization",
        "extra_headers",
        "timeout",
        "stream",
        "stream_options",
        "stop",
        "tool_choice",
        "parallel_tool_calls",
        "service_tier",
        "reasoning_effort",
        "reasoning",
        "verbosity",
        "modalities",
        "encoding_format",
        "input_type",
        "include",
        "truncation",
        "store",
        "background",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_id",
        "prompt_version",
        "logit_bias",
    }
)
# Fields that point at content held elsewhere, which the guardrail cannot see.
_REFERENCES: Final = {
    endpoints.RESPONSES_SHAPE: frozenset({"previous_response_id", "conversation", "prompt"}),
}
# Content part / block types and the key holding their text.
_TEXT_PARTS: Final = {
    "text": "text",
    "input_text": "text",
    "output_text": "text",
    "summary_text": "text",
    "reasoning_text": "text",
    "refusal": "refusal",
    "thinking": "thinking",
}
_MEDIA_PARTS: Final = frozenset(
    {"image_url", "image", "input_image", "input_audio", "audio", "file", "input_file", "document", "video_url"}
)
# Keys of generic values that name or tag things rather than say something.
_STRUCTURAL: Final = frozenset({"id", "type", "role", "tool_call_id", "call_id", "cache_control", "index", "signature"})
# A chat template writes the role into the prompt, so a free-text role would be unscreened text.
_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_DATA_URL: Final = re.compile(r"^\s*data:[\w.+-]+/[\w.+-]+;base64,", re.IGNORECASE)
_MAX_DEPTH: Final = 32


def request_text(data: Mapping[str, Any], shape: str) -> list[str]:
    """Every text the request carries, in order; raises :class:`Unscreenable`."""
    if shape == endpoints.CAPABILITY_ROUTE_SHAPE:
        # tokenize / detokenize / docling give the caller's own input back transformed; nothing
        # is generated from it, so there is nothing for the safety model to judge.
        return []
    read = _READERS.get(shape)
    if read is None:
        raise Unscreenable("request", f"requests of this kind ({shape or 'unknown'}) cannot be screened")
    texts: list[str] = []
    handled = _HANDLED[shape]
    for key, value in data.items():
        if key in handled:
            texts.extend(read(key, value))
        elif key in _REFERENCES.get(shape, ()):
            if value is not None:
                raise Unscreenable(key, "it refers to content stored elsewhere, which cannot be screened")
        elif key not in _NOT_CONTENT and not key.startswith("litellm_") and value is not None:
            texts.extend(_as_json(value, key))
    for required in _REQUIRED.get(shape, ()):
        if data.get(required) is None:
            raise Unscreenable(required, "missing")
    return [text for text in texts if text.strip()]


# -- per endpoint ------------------------------------------------------------------------------


def _chat(key: str, value: object) -> Iterator[str]:
    yield from _messages(value, key)


def _anthropic(key: str, value: object) -> Iterator[str]:
    if key == "system":
        yield from _content(value, key)
    else:
        yield from _messages(value, key)


def _prompt(key: str, value: object) -> Iterator[str]:
    yield from _texts_or_tokens(value, key)


def _responses(key: str, value: object) -> Iterator[str]:
    if isinstance(value, str) or value is None:
        yield from [value] if value else []
        return
    if not isinstance(value, list):
        raise Unscreenable(key, "expected a string or a list of input items")
    for index, item in enumerate(value):
        yield from _responses_item(item, f"{key}[{index}]")


def _embeddings(key: str, value: object) -> Iterator[str]:
    yield from _texts_or_tokens(value, key)


# -- shapes ------------------------------------------------------------------------------------


def _messages(value: object, where: str) -> Iterator[str]:
    if not isinstance(value, list):
        raise Unscreenable(where, "expected a list of messages")
    for index, message in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(message, Mapping):
            raise Unscreenable(at, "expected a message object")
        for key, field in message.items():
            if key in _STRUCTURAL or field is None:
                yield from _structural(key, field, at)
                continue
            if key == "content":
                yield from _content(field, f"{at}.content")
            elif key in ("tool_calls", "function_call"):
                yield from _tool_calls(field, f"{at}.{key}")
            elif key == "thinking_blocks":
                yield from _content(field, f"{at}.{key}")
            elif key == "audio":
                raise Unscreenable(f"{at}.audio", "audio cannot be screened by a text safety model")
            else:
                yield from _as_json(field, f"{at}.{key}")


def _structural(key: str, value: object, where: str) -> Iterator[str]:
    """Fields that name things: a role must be a known one; any other name is screened as text."""
    if value is None:
        return
    if key == "role":
        if value not in _ROLES:
            raise Unscreenable(f"{where}.role", f"role must be one of {', '.join(sorted(_ROLES))}")
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, (Mapping, list)):
        yield from _as_json(value, f"{where}.{key}")


def _content(value: object, where: str) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, str):
        yield value
        return
    if not isinstance(value, list):
        raise Unscreenable(where, "expected text or a list of content parts")
    for index, part in enumerate(value):
        yield from _part(part, f"{where}[{index}]")


def _part(part: object, where: str) -> Iterator[str]:
    if isinstance(part, str):
        yield part
        return
    if not isinstance(part, Mapping):
        raise Unscreenable(where, "expected a content part object")
    kind = part.get("type")
    if isinstance(kind, str) and kind in _TEXT_PARTS:
        text = part.get(_TEXT_PARTS[kind])
        if not isinstance(text, str):
            raise Unscreenable(where, f"'{kind}' part without text")
        yield text
    elif kind == "tool_use":  # Anthropic: the model's tool call, arguments as JSON
        yield from _as_json({"name": part.get("name"), "input": part.get("input")}, where)
    elif kind == "tool_result":  # Anthropic: what the tool answered
        yield from _content(part.get("content"), f"{where}.content")
    elif kind in _MEDIA_PARTS:
        raise Unscreenable(where, f"'{kind}' content cannot be screened by a text safety model")
    else:
        raise Unscreenable(where, f"content of type '{kind}' cannot be screened")


def _tool_calls(value: object, where: str) -> Iterator[str]:
    calls = value if isinstance(value, list) else [value]
    for index, call in enumerate(calls):
        at = f"{where}[{index}]" if isinstance(value, list) else where
        if not isinstance(call, Mapping):
            raise Unscreenable(at, "expected a tool call object")
        function = call.get("function", call)
        if not isinstance(function, Mapping):
            raise Unscreenable(f"{at}.function", "expected an object")
        if function is not call:
            yield from _structural("id", call.get("id"), at)
        for key, field in function.items():
            if key in _STRUCTURAL or field is None:
                yield from _structural(key, field, at)
                continue
            # ``arguments`` is JSON text already; anything else is read as JSON.
            yield from [field] if isinstance(field, str) else _as_json(field, f"{at}.{key}")


def _responses_item(item: object, where: str) -> Iterator[str]:
    if not isinstance(item, Mapping):
        raise Unscreenable(where, "expected an input item object")
    kind = item.get("type", "message")
    if kind == "message":
        yield from _structural("role", item.get("role"), where)
        yield from _content(item.get("content"), f"{where}.content")
    elif kind == "function_call":
        yield from _tool_calls(item, where)
    elif kind in ("function_call_output", "custom_tool_call_output"):
        yield from _content(item.get("output"), f"{where}.output")
    elif kind == "custom_tool_call":
        yield from _as_json({"name": item.get("name"), "input": item.get("input")}, where)
    elif kind == "reasoning":
        if item.get("encrypted_content") is not None:
            raise Unscreenable(f"{where}.encrypted_content", "encrypted reasoning cannot be screened")
        yield from _content(item.get("summary"), f"{where}.summary")
        yield from _content(item.get("content"), f"{where}.content")
    else:
        raise Unscreenable(where, f"input items of type '{kind}' cannot be screened")


def _texts_or_tokens(value: object, where: str) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        return
    if not isinstance(value, list):
        raise Unscreenable(where, "expected a string or a list of strings")
    for index, item in enumerate(value):
        if isinstance(item, str):
            yield item
        elif isinstance(item, int) or (isinstance(item, list) and all(isinstance(t, int) for t in item)):
            raise Unscreenable(where, "token ids cannot be screened; send text")
        else:
            raise Unscreenable(f"{where}[{index}]", "expected a string")


def _as_json(value: object, where: str) -> Iterator[str]:
    """A value the model may read (tool schemas, provider extras) as compact JSON text."""
    _check_readable(value, where, 0)
    if isinstance(value, str):
        yield value
    elif isinstance(value, (Mapping, list)) and value:
        yield json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _check_readable(value: object, where: str, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise Unscreenable(where, "nested too deeply")
    if isinstance(value, str):
        if _DATA_URL.match(value):
            raise Unscreenable(where, "inline media cannot be screened by a text safety model")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Unscreenable(where, "unexpected value")
            _check_readable(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_readable(item, f"{where}[{index}]", depth + 1)
    elif value is not None and not isinstance(value, (bool, int, float)):
        raise Unscreenable(where, f"unexpected value of type {type(value).__name__}")


_READERS: Final = {
    endpoints.CHAT_SHAPE: _chat,
    endpoints.ANTHROPIC_SHAPE: _anthropic,
    endpoints.PROMPT_SHAPE: _prompt,
    endpoints.RESPONSES_SHAPE: _responses,
    endpoints.EMBEDDINGS_SHAPE: _embeddings,
}
_HANDLED: Final = {
    endpoints.CHAT_SHAPE: frozenset({"messages"}),
    endpoints.ANTHROPIC_SHAPE: frozenset({"messages", "system"}),
    endpoints.PROMPT_SHAPE: frozenset({"prompt"}),
    endpoints.RESPONSES_SHAPE: frozenset({"input", "instructions"}),
    endpoints.EMBEDDINGS_SHAPE: frozenset({"input"}),
}
_REQUIRED: Final = {
    endpoints.CHAT_SHAPE: ("messages",),
    endpoints.ANTHROPIC_SHAPE: ("messages",),
    endpoints.PROMPT_SHAPE: ("prompt",),
    endpoints.RESPONSES_SHAPE: ("input",),
    endpoints.EMBEDDINGS_SHAPE: ("input",),
}


# -- answers -----------------------------------------------------------------------------------


def response_text(response: Any) -> str:
    """The text of a model answer (chat, completions, Responses, Anthropic); raises if unknown."""
    if isinstance(response, Mapping):  # Anthropic /v1/messages answers are plain dicts
        return "\n".join(_content(response.get("content"), "response.content"))
    output = getattr(response, "output", None)
    if isinstance(output, list):  # Responses API
        texts: list[str] = []
        for index, item in enumerate(output):
            dumped = item.model_dump() if hasattr(item, "model_dump") else item
            texts.extend(_responses_item(dumped, f"response.output[{index}]"))
        return "\n".join(texts)
    choices = getattr(response, "choices", None)
    if isinstance(choices, Sequence):
        return "\n".join(_choice_texts(choices, "message"))
    if getattr(response, "object", None) == "list" or type(response).__name__ == "EmbeddingResponse":
        return ""  # vectors: no text to judge
    raise Unscreenable("response", f"answers of type {type(response).__name__} cannot be screened")


def chunk_text(chunk: Any) -> str:
    """The text a streamed chunk adds (chat / completions chunks, Responses delta events)."""
    choices = getattr(chunk, "choices", None)
    if isinstance(choices, Sequence):
        return "".join(_choice_texts(choices, "delta"))
    kind = getattr(chunk, "type", None)
    if isinstance(kind, str) and kind.startswith("response."):
        delta = getattr(chunk, "delta", None)
        return delta if isinstance(delta, str) and kind.endswith(".delta") else ""
    raise Unscreenable("response", f"streamed chunks of type {type(chunk).__name__} cannot be screened")


def _choice_texts(choices: Sequence[Any], field: str) -> Iterator[str]:
    for choice in choices:
        text = getattr(choice, "text", None)  # /v1/completions
        if isinstance(text, str):
            yield text
        message = getattr(choice, field, None)
        content = getattr(message, "content", None)
        if isinstance(content, str):
            yield content
        for call in getattr(message, "tool_calls", None) or ():
            function = getattr(call, "function", None)
            for value in (getattr(function, "name", None), getattr(function, "arguments", None)):
                if isinstance(value, str):
                    yield value
