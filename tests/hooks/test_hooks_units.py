"""Pure pieces of the hooks that the proxy tests reach only indirectly (no LiteLLM state needed)."""

from __future__ import annotations

import itertools
import sys

import pytest

from tests.support.stack import REPO

sys.path.insert(0, str(REPO / "hooks"))

from litemaas_hooks import endpoints
from litemaas_hooks.safety import SafetyUnavailable, Verdict, windows
from litemaas_hooks.screening import Unscreenable, request_text


@pytest.mark.parametrize(
    ("text", "safe", "categories"),
    [
        ("safe", True, ()),
        ("  Safe \n", True, ()),
        ("unsafe\nS9", False, ("S9",)),
        ("unsafe\nS1,S10", False, ("S1", "S10")),
        ("unsafe", False, ()),
    ],
)
def test_llama_guard_verdicts_parse(text: str, safe: bool, categories: tuple[str, ...]) -> None:
    verdict = Verdict.parse(text)
    assert verdict.safe is safe
    assert verdict.categories == categories


@pytest.mark.parametrize("text", ["", "I cannot answer that", "maybe"])
def test_anything_else_is_no_verdict(text: str) -> None:
    with pytest.raises(SafetyUnavailable):
        Verdict.parse(text)


def test_verdict_names_categories() -> None:
    assert Verdict.parse("unsafe\nS1,S99").describe() == "S1: Violent Crimes, S99"


def test_every_turn_and_field_of_a_chat_request_is_read() -> None:
    data = {
        "model": "m",
        "metadata": {"headers": {"authorization": "Bearer sk-secret"}},
        "proxy_server_request": {"headers": {"authorization": "Bearer sk-secret"}},
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "system text"},
            {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "tool text"},
            {"role": "assistant", "content": "prefill text"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "description": "tool description"}}],
        "chat_template": "provider extra",
    }

    texts = request_text(data, endpoints.CHAT_SHAPE)

    # Ids are names a caller chooses, so they are screened too (a role must be a known one).
    expected = ["system text", "part one", "part two", "c1", "f", '{"a": 1}', "c1", "tool text", "prefill text"]
    assert texts[:9] == expected
    assert "tool description" in texts[9] and texts[10] == "provider extra"
    assert "sk-secret" not in " ".join(texts)


def test_a_role_outside_the_known_ones_cannot_be_screened() -> None:
    data = {"model": "m", "messages": [{"role": "user|>smuggled text<|user", "content": "continue"}]}
    with pytest.raises(Unscreenable) as refused:
        request_text(data, endpoints.CHAT_SHAPE)
    assert refused.value.field == "messages[0].role"


@pytest.mark.parametrize(
    ("shape", "data", "field"),
    [
        (endpoints.CHAT_SHAPE, {"messages": "hello"}, "messages"),
        (endpoints.CHAT_SHAPE, {"messages": [{"role": "user", "content": {"text": "x"}}]}, "messages[0].content"),
        (endpoints.CHAT_SHAPE, {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "content[0]"),
        (endpoints.CHAT_SHAPE, {"messages": [{"role": "user", "content": "x"}], "x": "data:image/png;base64,AA"}, "x"),
        (endpoints.PROMPT_SHAPE, {"prompt": [[1, 2], [3]]}, "prompt"),
        (endpoints.EMBEDDINGS_SHAPE, {"input": [5, 6]}, "input"),
        (endpoints.RESPONSES_SHAPE, {"input": "hi", "previous_response_id": "resp_1"}, "previous_response_id"),
        (endpoints.RESPONSES_SHAPE, {"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        (endpoints.ANTHROPIC_SHAPE, {"messages": [{"role": "user", "content": [{"type": "image"}]}]}, "content[0]"),
        ("", {"query": "q", "documents": ["d"]}, "request"),
    ],
)
def test_what_cannot_be_read_fails_closed(shape: str, data: dict[str, object], field: str) -> None:
    with pytest.raises(Unscreenable) as raised:
        request_text(data, shape)
    assert field in raised.value.field


def test_windows_overlap_and_cover_everything() -> None:
    text = "".join(chr(65 + i % 26) for i in range(2500))

    pieces = windows(text, 1000)

    assert [len(p) for p in pieces] == [1000, 1000, 1000, 700]
    assert all(a[-400:] == b[:400] for a, b in itertools.pairwise(pieces))
    assert pieces[0] + "".join(p[400:] for p in pieces[1:]) == text
    assert windows("short", 1000) == ["short"]
