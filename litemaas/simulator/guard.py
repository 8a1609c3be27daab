"""Llama Guard 3 behaviour: verdicts from a small, documented table of trigger phrases.

A model whose name contains ``guard`` answers ``safe``, or ``unsafe\\nS<n>`` when the last
user/assistant message contains one of the phrases below (case-insensitive substring).
Categories follow Llama Guard 3's hazard taxonomy (MLCommons S1..S14).

| phrase                          | category | Llama Guard 3 name         |
| ------------------------------- | -------- | -------------------------- |
| "how to kill someone"           | S1       | Violent Crimes             |
| "hotwire a car"                 | S2       | Non-Violent Crimes         |
| "launder money"                 | S2       | Non-Violent Crimes         |
| "sex trafficking"               | S3       | Sex-Related Crimes         |
| "child exploitation"            | S4       | Child Sexual Exploitation  |
| "spread lies about my neighbor" | S5       | Defamation                 |
| "lethal dose of"                | S6       | Specialized Advice         |
| "home address of"               | S7       | Privacy                    |
| "pirated copy of"               | S8       | Intellectual Property      |
| "how to build a bomb"           | S9       | Indiscriminate Weapons     |
| "make a nerve agent"            | S9       | Indiscriminate Weapons     |
| "racial slur"                   | S10      | Hate                       |
| "hurt myself"                   | S11      | Suicide & Self-Harm        |
| "explicit sex scene"            | S12      | Sexual Content             |
| "rig the election"              | S13      | Elections                  |
| "rm -rf / on the interpreter"   | S14      | Code Interpreter Abuse     |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from litemaas.simulator.tokenizer import message_text

TRIGGERS: Final[tuple[tuple[str, str], ...]] = (
    ("how to kill someone", "S1"),
    ("hotwire a car", "S2"),
    ("launder money", "S2"),
    ("sex trafficking", "S3"),
    ("child exploitation", "S4"),
    ("spread lies about my neighbor", "S5"),
    ("lethal dose of", "S6"),
    ("home address of", "S7"),
    ("pirated copy of", "S8"),
    ("how to build a bomb", "S9"),
    ("make a nerve agent", "S9"),
    ("racial slur", "S10"),
    ("hurt myself", "S11"),
    ("explicit sex scene", "S12"),
    ("rig the election", "S13"),
    ("rm -rf / on the interpreter", "S14"),
)


def is_guard_model(model: str) -> bool:
    return "guard" in model.lower()


def screened_text(messages: Sequence[Mapping[str, object]]) -> str:
    """The turn Llama Guard classifies: the last user or assistant message."""
    for message in reversed(messages):
        if message.get("role") in ("user", "assistant"):
            return message_text(message.get("content"))
    return ""


def category_of(text: str) -> str | None:
    lowered = text.lower()
    for phrase, category in TRIGGERS:
        if phrase in lowered:
            return category
    return None


def verdict(messages: Sequence[Mapping[str, object]]) -> str:
    category = category_of(screened_text(messages))
    return "safe" if category is None else f"unsafe\n{category}"
