"""Pure pieces of the hooks that the proxy tests reach only indirectly (no LiteLLM state needed)."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "hooks"))

from litemaas_hooks.safety import SafetyUnavailable, Verdict, conversation


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


def test_conversation_alternates_and_starts_with_the_user() -> None:
    turns = conversation(
        [
            {"role": "assistant", "content": "greeting before any user turn"},
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {}}]},
            {"role": "assistant", "content": "hello"},
            {"role": "tool", "content": "tool output"},
            {"role": "user", "content": ""},
        ]
    )
    assert turns == [
        {"role": "user", "content": "be nice\n\nhi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "tool output"},
    ]
