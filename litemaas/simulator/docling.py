"""docling-serve style conversion, deterministic and offline (URLs are never fetched).

Answers have docling-serve 1.x's shapes (routes in docling-serve's ``docling_serve/app.py`` and
``response_preparation.py``; wire models in docling's ``docling/datamodel/service/responses.py``):

- one document, ``inbody`` target: ``ConvertDocumentResponse`` = ``document`` (an
  ``ExportDocumentResponse``: ``filename``, ``md_content``, ``json_content``, ``html_content``,
  ``text_content``, ``doctags_content``, each null unless asked for in ``to_formats``),
  ``status``, ``errors``, ``processing_time``, ``timings``. There is no page count field: pages
  exist only inside ``json_content`` (a ``DoclingDocument`` whose ``pages`` maps page numbers
  to page items);
- several documents or a ``zip`` target: an ``application/zip`` archive with one
  ``<stem>.<ext>`` file per document and format (``.md``, ``.json``, ``.html``, ``.txt``,
  ``.doctags``), as docling-jobkit's ``convert/export.py`` writes them;
- async endpoints: ``TaskStatusResponse`` (``task_id``, ``task_type``, ``task_status``,
  ``task_position``, ``task_meta``, ``error_message``); ``/v1/result/{id}`` then gives one of the
  answers above.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final

_PDF_PAGE: Final = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_BYTES_PER_PAGE: Final = 3000
_ALL_FORMATS: Final = ("md", "json", "html", "text", "doctags")


class ConversionError(ValueError):
    """A conversion request docling-serve would refuse (422)."""


@dataclass(frozen=True, slots=True)
class SourceDocument:
    filename: str
    content: bytes
    origin: str  # "file" or "http"


def page_count(document: SourceDocument) -> int:
    if document.origin == "http":
        return 1
    if document.content.startswith(b"%PDF"):
        pages = len(_PDF_PAGE.findall(document.content))
        if pages:
            return pages
    return max(1, math.ceil(len(document.content) / _BYTES_PER_PAGE))


def _page_texts(document: SourceDocument, pages: int) -> list[str]:
    if document.origin == "http":
        return [f"Content of {document.filename} (not fetched by the simulator)."]
    try:
        text = document.content.decode()
    except UnicodeDecodeError:
        digest = hashlib.sha256(document.content).hexdigest()[:16]
        return [f"Binary page {n} of {document.filename} (sha256 {digest})." for n in range(1, pages + 1)]
    if document.content.startswith(b"%PDF"):
        return [f"Page {n} of {document.filename}." for n in range(1, pages + 1)]
    size = max(1, math.ceil(len(text) / pages))
    return [text[i : i + size].strip() for i in range(0, len(text), size)][:pages] or [""]


def convert(
    document: SourceDocument, to_formats: Sequence[str], page_break: str | None
) -> tuple[dict[str, object], int]:
    """Return docling-serve's ``document`` object and the page count."""
    unknown = [fmt for fmt in to_formats if fmt not in _ALL_FORMATS]
    if unknown:
        raise ConversionError(f"unsupported to_formats: {unknown}")
    pages = page_count(document)
    texts = _page_texts(document, pages)
    stem = PurePosixPath(document.filename).stem or "document"
    separator = f"\n\n{page_break}\n\n" if page_break else "\n\n"
    md = f"# {stem}\n\n" + separator.join(texts)
    formats = set(to_formats or ("md",))
    result: dict[str, object] = {
        "filename": document.filename,
        "md_content": md if "md" in formats else None,
        "json_content": None,
        "html_content": None,
        "text_content": None,
        "doctags_content": None,
    }
    if "json" in formats:
        result["json_content"] = {
            "schema_name": "DoclingDocument",
            "version": "1.5.0",
            "name": stem,
            "origin": {"filename": document.filename, "mimetype": _mimetype(document)},
            "texts": [
                {"self_ref": f"#/texts/{i}", "text": t, "prov": [{"page_no": i + 1}]} for i, t in enumerate(texts)
            ],
            "pages": {str(n): {"page_no": n, "size": {"width": 612.0, "height": 792.0}} for n in range(1, pages + 1)},
        }
    if "html" in formats:
        body = "".join(f"<p>{t}</p>" for t in texts)
        result["html_content"] = f"<html><body><h1>{stem}</h1>{body}</body></html>"
    if "text" in formats:
        result["text_content"] = "\n\n".join(texts)
    if "doctags" in formats:
        result["doctags_content"] = "<doctag>" + "".join(f"<text>{t}</text><page_break>" for t in texts) + "</doctag>"
    return result, pages


_ZIP_SUFFIXES: Final = {
    "md_content": ".md",
    "json_content": ".json",
    "html_content": ".html",
    "text_content": ".txt",
    "doctags_content": ".doctags",
}


def zip_archive(documents: Sequence[Mapping[str, object]]) -> bytes:
    """docling-serve's zip answer: ``<stem>.<ext>`` per converted document and requested format."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for document in documents:
            stem = PurePosixPath(str(document["filename"])).stem or "document"
            for key, suffix in _ZIP_SUFFIXES.items():
                value = document.get(key)
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value)
                archive.writestr(stem + suffix, text)
    return out.getvalue()


def _mimetype(document: SourceDocument) -> str:
    if document.content.startswith(b"%PDF"):
        return "application/pdf"
    return "text/plain" if document.origin == "file" else "text/html"


def sources_from_json(body: Mapping[str, object]) -> list[SourceDocument]:
    """Read ``sources`` (docling-serve v1) and the older ``http_sources`` / ``file_sources``."""
    documents: list[SourceDocument] = []
    entries: list[tuple[str, object]] = []
    for key, kind in (
        ("sources", None),
        ("file_sources", "file"),
        ("http_sources", "http"),
    ):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise ConversionError(f"{key} must be a list")
        entries.extend((kind or "", item) for item in value)
    for given_kind, item in entries:
        if not isinstance(item, Mapping):
            raise ConversionError("each source must be an object")
        kind = given_kind or str(item.get("kind", "file" if "base64_string" in item else "http"))
        if kind == "http":
            url = item.get("url")
            if not isinstance(url, str) or not url:
                raise ConversionError("http source needs a url")
            name = PurePosixPath(url.split("?", 1)[0]).name or "document"
            documents.append(SourceDocument(filename=name, content=url.encode(), origin="http"))
        elif kind == "file":
            encoded = item.get("base64_string")
            if not isinstance(encoded, str):
                raise ConversionError("file source needs base64_string")
            try:
                content = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ConversionError("base64_string is not valid base64") from exc
            filename = item.get("filename")
            documents.append(
                SourceDocument(
                    filename=filename if isinstance(filename, str) else "document",
                    content=content,
                    origin="file",
                )
            )
        else:
            raise ConversionError(f"unsupported source kind: {kind}")
    if not documents:
        raise ConversionError("no sources given")
    return documents


def to_formats_from(options: Mapping[str, object]) -> list[str]:
    value = options.get("to_formats", ["md"])
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConversionError("to_formats must be a list of strings")
