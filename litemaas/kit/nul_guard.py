"""One check for every request: no NUL character in any input (400 naming the field).

PostgreSQL text cannot hold U+0000, so a NUL that reaches a query or a row ends in a driver
error (a 500) wherever it lands. Rather than guard each field, the app runs this dependency
before every route: path and query parameters, headers, cookies, and the body the route reads
(JSON, keys included, or form fields). File uploads are binary and are not inspected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from email.message import Message
from typing import Any

from fastapi import Request

from litemaas.errors import BadRequest

NUL = "\x00"

__all__ = ["refuse_nul_characters"]


def _label(name: str) -> str:
    # A field name is echoed in the error: never echo the NUL itself.
    return name.replace(NUL, "\\0")


def _json_strings(body: Any) -> Iterator[tuple[str, str, bool]]:
    """``(path, text, is_key)`` for every string in a JSON document (iterative: nesting is unbounded)."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value, False
        elif isinstance(value, dict):
            for raw_key, item in value.items():
                key = str(raw_key)
                yield path, key, True
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value))


def _refuse(pairs: Iterable[tuple[str, str]]) -> None:
    for name, value in pairs:
        if NUL in value:
            raise BadRequest(f"{_label(name)} must not contain NUL characters", field=_label(name))


def _is_json(content_type: str) -> bool:
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


async def refuse_nul_characters(request: Request) -> None:
    """App-wide dependency: 400 when any input of the request contains U+0000."""
    _refuse((name, str(value)) for name, value in request.path_params.items())
    _refuse(request.query_params.multi_items())
    _refuse(request.cookies.items())
    _refuse(request.headers.items())
    for name in (*request.query_params.keys(), *request.cookies.keys()):
        if NUL in name:
            raise BadRequest("a parameter name contains a NUL character", field=_label(name))
    # Only a body the route reads can reach the database. Its bytes are cached on the request
    # (read once); the JSON is parsed again here, a cost bounded by the body-size limits.
    if getattr(request.scope.get("route"), "body_field", None) is None:
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        _refuse((name, value) for name, value in form.multi_items() if isinstance(value, str))
    elif not content_type or _is_json(content_type):
        try:
            body = await request.json()
        except ValueError:
            return  # not JSON: the route's own validation answers
        for path, text, is_key in _json_strings(body):
            if NUL not in text:
                continue
            if is_key:
                where = _label(path) or "body"
                raise BadRequest(f"a key in {where} contains a NUL character", field=where)
            raise BadRequest(f"{_label(path) or 'body'} must not contain NUL characters", field=_label(path) or "body")
