"""docling-serve's v1 API as the proxy sees it: which paths, which URLs, how many pages.

Shapes follow docling-serve 1.x: the routes in ``docling_serve/app.py`` and the wire models it
takes from docling's ``docling/datamodel/service/`` (``requests.py``: ``ConvertSourcesRequest``
with ``sources`` of kind ``file``/``http``, ``target``, ``callbacks``; ``targets.py``;
``callbacks.py``: ``CallbackSpec.url``; ``options.py``: ``picture_description_api.url`` and
other remote-model URLs; ``responses.py``: ``ConvertDocumentResponse``, ``TaskStatusResponse``).

Usage comes from what docling-serve really returns. ``ConvertDocumentResponse`` carries no page
count; the only one is the exported ``DoclingDocument`` (``document.json_content.pages``, a
dict keyed by page number), present only when ``json`` is among ``to_formats``. Several sources
or a ``zip`` target come back as a zip archive holding one ``<name>.json`` per document. So the
proxy asks for ``json`` whenever the caller did not, counts pages from it, and removes it from
the answer again, which is then exactly what docling-serve returns for the caller's formats.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from litemaas_hooks.url_policy import SourcePolicy

_TASK_PATH: Final = re.compile(r"^(status/poll|result)/([A-Za-z0-9_][A-Za-z0-9_\-.]*)$")
CONVERT_PATHS: Final = frozenset({"convert/source", "convert/source/async", "convert/file", "convert/file/async"})
_SOURCE_KINDS: Final = ("file", "http")
_TARGET_KINDS: Final = ("inbody", "zip")
_URL_KEYS: Final = frozenset({"url", "uri", "href", "endpoint", "base_url", "api_base", "api_url"})
_MAX_URLS: Final = 16
_URL_LIKE: Final = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.\-]*://")
# Sent along with a fetch, never fetched themselves.
_NOT_FETCHED: Final = frozenset({"headers"})
_CONVERTED: Final = frozenset({"success", "partial_success"})


class DoclingError(ValueError):
    """A request the proxy refuses before docling-serve sees it."""

    def __init__(self, message: str, field: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One docling-serve v1 endpoint a virtual key may use."""

    kind: Literal["convert", "status", "result"]
    is_async: bool = False
    task_id: str = ""


def endpoint(subpath: str, method: str) -> Endpoint:
    """Deny by default: conversion and the caller's own tasks, never management or batch paths."""
    if method == "POST" and subpath in CONVERT_PATHS:
        return Endpoint("convert", is_async=subpath.endswith("/async"))
    match = _TASK_PATH.match(subpath)
    if method == "GET" and match:
        return Endpoint("status" if match.group(1) == "status/poll" else "result", task_id=match.group(2))
    raise DoclingError(
        f"'{method} /docling/v1/{subpath}' is not available: use POST convert/source|file[/async], "
        "GET status/poll/{task_id} or GET result/{task_id}.",
        "path",
        404,
    )


# -- what docling-serve would fetch ---------------------------------------------------------------


async def check_json(body: Mapping[str, Any], policy: SourcePolicy) -> None:
    """Refuse source/target kinds that bypass the proxy and every URL the policy does not allow."""
    _check_sources(body)
    target = body.get("target")
    if target is not None:
        kind = target.get("kind") if isinstance(target, Mapping) else None
        if kind not in _TARGET_KINDS:
            raise DoclingError(
                f"'target.kind' must be one of {', '.join(_TARGET_KINDS)}: results come back through LiteMaaS.",
                "target.kind",
            )
    if "targets" in body:
        raise DoclingError("'targets' is not available: results come back through LiteMaaS.", "targets")
    urls: list[tuple[str, str]] = []
    _collect(body, "", None, urls)
    await _check_urls(urls, policy)


async def check_form(fields: Iterable[tuple[str, Any]], policy: SourcePolicy) -> None:
    """The same for a multipart upload's text fields (JSON-valued fields are read as JSON)."""
    urls: list[tuple[str, str]] = []
    for name, value in fields:
        if not isinstance(value, str):
            continue  # an uploaded file
        if name == "target_type" and value not in _TARGET_KINDS:
            raise DoclingError(
                f"'target_type' must be one of {', '.join(_TARGET_KINDS)}: results come back through LiteMaaS.",
                "target_type",
            )
        parsed = _json_value(value)
        if parsed is not None:
            _collect(parsed, name, name, urls)
        elif name == "callbacks" or _is_url_key(name) or _URL_LIKE.match(value):
            urls.append((name, value))
    await _check_urls(urls, policy)


def _check_sources(body: Mapping[str, Any]) -> None:
    sources = body.get("sources")
    if sources is not None:
        if not isinstance(sources, list):
            raise DoclingError("'sources' must be a list.", "sources")
        for index, item in enumerate(sources):
            field = f"sources[{index}]"
            if not isinstance(item, Mapping):
                raise DoclingError(f"'{field}' must be an object.", field)
            kind = item.get("kind", "http" if "url" in item else "file")
            if kind not in _SOURCE_KINDS:
                raise DoclingError(
                    f"'{field}.kind' must be one of {', '.join(_SOURCE_KINDS)}.",
                    f"{field}.kind",
                )
            if kind == "http" and not isinstance(item.get("url"), str):
                raise DoclingError(f"'{field}.url' must be a URL.", f"{field}.url")
    # docling-serve's pre-v1 shape, still checked in case an older server reads it.
    legacy = body.get("http_sources")
    if legacy is not None:
        if not isinstance(legacy, list):
            raise DoclingError("'http_sources' must be a list.", "http_sources")
        for index, item in enumerate(legacy):
            if not isinstance(item, Mapping) or not isinstance(item.get("url"), str):
                raise DoclingError(f"'http_sources[{index}].url' must be a URL.", f"http_sources[{index}].url")


def _collect(value: Any, path: str, key: str | None, out: list[tuple[str, str]]) -> None:
    """Every string docling-serve could fetch: URL-named fields, callbacks, any value that is a URL."""
    if isinstance(value, Mapping):
        for name, item in value.items():
            if name not in _NOT_FETCHED:
                _collect(item, f"{path}.{name}" if path else str(name), str(name), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, f"{path}[{index}]", key, out)
    elif isinstance(value, str) and (
        (key is not None and (_is_url_key(key) or key == "callbacks")) or _URL_LIKE.match(value)
    ):
        out.append((path, value))


def _is_url_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _URL_KEYS or lowered.endswith(("_url", "_uri"))


def _json_value(text: str) -> Any:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


async def _check_urls(urls: Sequence[tuple[str, str]], policy: SourcePolicy) -> None:
    if len(urls) > _MAX_URLS:
        raise DoclingError(f"At most {_MAX_URLS} URLs per request.", urls[_MAX_URLS][0])
    for field, url in urls:
        await policy.check(url, field)


# -- asking for the page count --------------------------------------------------------------------


def with_json_export(body: dict[str, Any]) -> bool:
    """Add ``json`` to ``options.to_formats`` (default ``["md"]``); True if the caller had not asked for it."""
    options = body.get("options", {})
    if not isinstance(options, Mapping):
        return False  # docling-serve answers 422 itself
    formats = _formats(options.get("to_formats", ["md"]))
    if formats is None or "json" in formats:
        return False
    body["options"] = {**options, "to_formats": [*formats, "json"]}
    return True


def with_json_export_form(fields: list[tuple[str, Any]]) -> bool:
    """The same for repeated ``to_formats`` form fields."""
    formats = [value for name, value in fields if name == "to_formats"]
    if "json" in formats:
        return False
    if not formats:
        fields.append(("to_formats", "md"))
    fields.append(("to_formats", "json"))
    return True


def _formats(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


# -- reading the answer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The body to return to the caller and the pages it was charged for."""

    content: bytes
    pages: int


def read_answer(content_type: str, content: bytes, strip_json: bool) -> Answer:
    """Pages of a ``ConvertDocumentResponse`` or zip archive; the proxy's own JSON export removed."""
    if "zip" in content_type:
        return _zip_answer(content, strip_json)
    if "json" not in content_type:
        return Answer(content, 0)
    try:
        payload = json.loads(content)
    except ValueError:
        return Answer(content, 0)
    document = payload.get("document") if isinstance(payload, dict) else None
    if not isinstance(document, dict):
        return Answer(content, 0)  # a task status, a failure, an error
    pages = document_pages(document.get("json_content")) if payload.get("status") in _CONVERTED else 0
    if strip_json and document.get("json_content") is not None:
        document["json_content"] = None
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Answer(content, pages)


def document_pages(doc: Any) -> int:
    """Pages of one exported ``DoclingDocument``; a converted document without pages (HTML, DOCX) counts one."""
    pages = doc.get("pages") if isinstance(doc, Mapping) else None
    return max(1, len(pages)) if isinstance(pages, Mapping) else 1


def _zip_answer(content: bytes, strip_json: bool) -> Answer:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        return Answer(content, 0)
    pages = 0
    exports: set[str] = set()
    with archive:
        for info in archive.infolist():
            if not info.filename.endswith(".json"):
                continue
            try:
                doc = json.loads(archive.read(info))
            except (ValueError, zipfile.BadZipFile):
                continue
            if isinstance(doc, dict) and doc.get("schema_name") == "DoclingDocument":
                pages += document_pages(doc)
                exports.add(info.filename)
        if not strip_json or not exports:
            return Answer(content, pages)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as rebuilt:
            for info in archive.infolist():
                if info.filename not in exports:
                    rebuilt.writestr(info, archive.read(info))
    return Answer(out.getvalue(), pages)
