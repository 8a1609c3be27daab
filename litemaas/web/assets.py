"""Front-end assets: collected from npm and ``static/`` once per process, served under hashed names.

Every served file gets its content hash in its name (``portal.3f2a1b0c9d8e.css``), so a URL never
changes meaning and browsers may keep it for a year. Stylesheets are rewritten so that their
``url(...)`` references (PatternFly's fonts, icon font and images) point at hashed names too; only
files a stylesheet references are collected, never the whole ``node_modules``. Text assets are
compressed once here (gzip and brotli); pages are never compressed (CSRF tokens in compressed
responses invite BREACH-style guessing).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import brotli

_COMPRESS_MIN_BYTES = 256  # smaller files gain nothing from compression

WEB_DIR = Path(__file__).resolve().parent
NODE_MODULES = WEB_DIR / "npm" / "node_modules"
STATIC_DIR = WEB_DIR / "static"
URL_PREFIX = "/static/"

# Logical name -> file in node_modules. Stylesheets pull in what they reference.
NPM_ENTRIES: dict[str, str] = {
    "patternfly/patternfly.css": "@patternfly/patternfly/patternfly.min.css",
    "patternfly/patternfly-addons.css": "@patternfly/patternfly/patternfly-addons.css",
    "htmx/htmx.js": "htmx.org/dist/htmx.min.js",
    "chart.js/chart.js": "chart.js/dist/chart.umd.min.js",
}

_COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".txt", ".map"}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_SOURCE_MAP = re.compile(rb"/\*# sourceMappingURL=[^*]*\*/\s*$")
IMMUTABLE = "public, max-age=31536000, immutable"


class AssetsMissing(RuntimeError):
    """The npm packages are not installed (``make install`` runs ``npm ci``)."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One served file: its hashed URL, bytes and precompressed variants."""

    url: str
    media_type: str
    body: bytes
    gzip: bytes | None = None
    br: bytes | None = None
    etag: str = ""


@dataclass(slots=True)
class AssetManifest:
    """Logical name (``patternfly/patternfly.css``) -> hashed URL, and URL path -> Asset."""

    urls: dict[str, str] = field(default_factory=dict)
    by_path: dict[str, Asset] = field(default_factory=dict)

    def url(self, name: str) -> str:
        try:
            return self.urls[name]
        except KeyError:
            raise KeyError(f"unknown asset {name!r} (known: {sorted(self.urls)})") from None

    def get(self, path: str) -> Asset | None:
        return self.by_path.get(path)


def _hashed_name(name: str, digest: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        return f"{name}.{digest}"
    return f"{stem}.{digest}.{ext}"


def _media_type(name: str) -> str:
    if name.endswith(".woff2"):
        return "font/woff2"
    guessed, _ = mimetypes.guess_type(name)
    media_type = guessed or "application/octet-stream"
    if media_type.startswith("text/") or media_type in ("application/javascript", "image/svg+xml"):
        media_type += "; charset=utf-8"
    return media_type


class _Collector:
    def __init__(self) -> None:
        self.manifest = AssetManifest()
        self._busy: set[str] = set()

    def add(self, name: str, source: Path) -> str:
        """Collect ``source`` as ``name`` (and, for a stylesheet, what it references); return its URL."""
        if name in self.manifest.urls:
            return self.manifest.urls[name]
        if name in self._busy:
            raise ValueError(f"stylesheet reference cycle at {name}")
        if not source.is_file():
            raise AssetsMissing(f"asset {name!r} not found at {source}: run `make install`")
        self._busy.add(name)
        body = source.read_bytes()
        if name.endswith(".css"):
            body = self._rewrite_css(name, source, body)
        elif name.endswith(".js"):
            body = _SOURCE_MAP.sub(b"", body)
        digest = hashlib.sha256(body).hexdigest()[:12]
        url = URL_PREFIX + _hashed_name(name, digest)
        suffix = "." + name.rsplit(".", 1)[-1]
        compressible = suffix in _COMPRESSIBLE and len(body) > _COMPRESS_MIN_BYTES
        self.manifest.urls[name] = url
        self.manifest.by_path[url] = Asset(
            url=url,
            media_type=_media_type(name),
            body=body,
            # Brotli 9 is within a few percent of 11 and 50 times faster: this runs at startup.
            gzip=gzip.compress(body, compresslevel=9, mtime=0) if compressible else None,
            br=brotli.compress(body, quality=9) if compressible else None,
            etag=f'"{digest}"',
        )
        self._busy.discard(name)
        return url

    def _rewrite_css(self, name: str, source: Path, body: bytes) -> bytes:
        text = _SOURCE_MAP.sub(b"", body).decode("utf-8")

        def replace(match: re.Match[str]) -> str:
            ref = match.group(2).strip()
            if ref.startswith(("data:", "http:", "https:", "//", "/", "#")):
                return match.group(0)
            path, _, fragment = ref.partition("#")
            path = path.split("?", 1)[0]
            target = (source.parent / path).resolve()
            logical = posixpath.normpath(posixpath.join(posixpath.dirname(name), path))
            url = self.add(logical, target)
            return f'url("{url}{"#" + fragment if fragment else ""}")'

        return _CSS_URL.sub(replace, text).encode("utf-8")


def collect_assets(node_modules: Path = NODE_MODULES, static_dir: Path = STATIC_DIR) -> AssetManifest:
    """Hash, rewrite and compress every served asset (npm entries and everything in ``static/``)."""
    if not node_modules.is_dir():
        raise AssetsMissing(f"{node_modules} is missing: run `make install` (npm ci for the portal assets)")
    collector = _Collector()
    for name, relative in NPM_ENTRIES.items():
        collector.add(name, node_modules / relative)
    for path in sorted(static_dir.rglob("*")):
        if path.is_file():
            collector.add("app/" + path.relative_to(static_dir).as_posix(), path)
    return collector.manifest


@cache
def default_manifest() -> AssetManifest:
    """The process-wide manifest: assets are immutable while the process runs."""
    return collect_assets()
