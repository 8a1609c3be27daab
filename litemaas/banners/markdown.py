"""A safe Markdown subset for banner messages: **bold**, *italic*, `code` and [links](https://...).

The message is escaped first and only our own tags are added afterwards, so no HTML an admin
types survives as markup (``<script>`` shows as text). A link's target must be an absolute http(s)
URL; any other target (``javascript:``, ``data:``, relative) leaves the link text as plain text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markupsafe import Markup, escape

__all__ = ["render_message", "safe_link"]

_TOKENS = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\[\]\n]+)\]\((?P<href>[^()\s]+)\)"
    r"|\*\*(?P<strong>[^*\n]+)\*\*"
    r"|__(?P<strong2>[^_\n]+)__"
    r"|\*(?P<em>[^*\n]+)\*"
    r"|(?<![\w])_(?P<em2>[^_\n]+)_(?![\w])"
)
_URL_MAX = 2048


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host and no credentials or control characters."""
    if not url or len(url) > _URL_MAX:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):  # noqa: PLR2004  control characters
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return url


def _inline(text: str) -> Markup:
    """Bold and italic inside a link label or around text (no nesting of links or code)."""
    out = Markup()
    position = 0
    for match in _TOKENS.finditer(text):
        out += escape(text[position : match.start()])
        strong = match.group("strong") or match.group("strong2")
        em = match.group("em") or match.group("em2")
        if strong:
            out += Markup("<strong>%s</strong>") % strong
        elif em:
            out += Markup("<em>%s</em>") % em
        else:
            out += escape(match.group(0))
        position = match.end()
    return out + escape(text[position:])


def render_message(message: str, message_format: str) -> Markup:
    """The message as HTML: ``text`` escaped as is, ``markdown`` through the subset above."""
    if message_format != "markdown":
        return escape(message)
    out = Markup()
    position = 0
    for match in _TOKENS.finditer(message):
        out += escape(message[position : match.start()])
        if match.group("code"):
            out += Markup("<code>%s</code>") % match.group("code")
        elif match.group("label"):
            href = safe_link(match.group("href"))
            label = _inline(match.group("label"))
            if href is None:
                out += label
            else:
                out += Markup('<a href="%s" rel="noopener noreferrer">%s</a>') % (href, label)
        else:
            out += _inline(match.group(0))
        position = match.end()
    return out + escape(message[position:])
