"""A deterministic, reversible stand-in tokenizer.

Real tokenizers need model files we do not ship; the simulator only needs counts that are
stable, roughly realistic (a few characters per token) and reversible for ``/detokenize``.
Text is cut into whitespace-led words, each word's UTF-8 bytes into chunks of up to three
bytes; a token id packs the chunk length and bytes, so ids stay below 2**26.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

_PIECE = re.compile(r"\s*\S+|\s+")
_CHUNK = 3
MAX_TOKEN_ID = (_CHUNK << 24) | 0xFFFFFF


class InvalidTokenError(ValueError):
    """A token id that this tokenizer never produces."""


def encode(text: str) -> list[int]:
    ids: list[int] = []
    for match in _PIECE.finditer(text):
        raw = match.group().encode()
        for start in range(0, len(raw), _CHUNK):
            chunk = raw[start : start + _CHUNK]
            ids.append((len(chunk) << 24) | int.from_bytes(chunk, "big"))
    return ids


def count(text: str) -> int:
    if text.isascii():  # one byte per character: no need to build the ids
        return sum(-(-len(match.group()) // _CHUNK) for match in _PIECE.finditer(text))
    return len(encode(text))


def token_bytes(token: int) -> bytes:
    if isinstance(token, bool) or not isinstance(token, int) or token < 0 or token > MAX_TOKEN_ID:
        raise InvalidTokenError(f"invalid token id: {token!r}")
    length = token >> 24
    if not 1 <= length <= _CHUNK:
        raise InvalidTokenError(f"invalid token id: {token!r}")
    return (token & 0xFFFFFF).to_bytes(3, "big")[_CHUNK - length :]


def decode(tokens: Iterable[int]) -> str:
    return b"".join(token_bytes(token) for token in tokens).decode("utf-8", errors="replace")


def split_text(text: str) -> list[str]:
    """The text of each token, for streaming; pieces split mid-character are kept whole."""
    if text.isascii():
        return [
            piece[start : start + _CHUNK]
            for piece in (match.group() for match in _PIECE.finditer(text))
            for start in range(0, len(piece), _CHUNK)
        ]
    pieces: list[str] = []
    pending = b""
    for token in encode(text):
        pending += token_bytes(token)
        try:
            pieces.append(pending.decode())
        except UnicodeDecodeError:
            continue
        pending = b""
    if pending:
        pieces.append(pending.decode(errors="replace"))
    return pieces


def message_text(content: object) -> str:
    """The text of an OpenAI message ``content`` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts: list[str] = []
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return ""


def render_chat(messages: Sequence[Mapping[str, object]], add_generation_prompt: bool = True) -> str:
    """A fixed chat template, so ``/tokenize`` with messages and chat usage agree."""
    rendered = "".join(
        f"<|{message.get('role', 'user')}|>\n{message_text(message.get('content'))}\n" for message in messages
    )
    return rendered + "<|assistant|>\n" if add_generation_prompt else rendered
