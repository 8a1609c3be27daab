"""LiteLLM's Prisma client: which query engine it runs, and generating it offline.

prisma-client-py normally downloads Prisma's native engines from a CDN. Where they are not
installed, ``PRISMA_QUERY_ENGINE_BINARY`` points at ``bin/query-engine``, which answers
``--version`` with the expected engine commit and runs the WebAssembly engine sidecar in
``engine/``. The Prisma CLI used by ``prisma generate`` is the one pinned in
``engine/package-lock.json`` (``PRISMA_BINARY_CACHE_DIR`` points there), so nothing is
fetched at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Literal

RUNTIME_DIR = Path(__file__).resolve().parent
ENGINE_DIR = RUNTIME_DIR / "engine"
BIN_DIR = RUNTIME_DIR / "bin"
ENGINE_COMMIT = "393aa359c9ad4a4bb28630fb5613f9c281cde053"
_STAMP_NAME = ".litemaas-generated"

EngineMode = Literal["auto", "native", "offline"]


class EngineSetupError(RuntimeError):
    """The Prisma engine or client cannot be prepared."""


def litellm_schema_path() -> Path:
    # Located, not imported: importing litellm costs seconds at start and again at exit, in a
    # supervisor that only needs this file.
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        raise EngineSetupError("litellm is not installed in this environment")
    return Path(spec.origin).resolve().parent / "proxy" / "schema.prisma"


def _prisma_package_dir() -> Path:
    spec = importlib.util.find_spec("prisma")
    if spec is None or spec.origin is None:
        raise EngineSetupError("prisma-client-py is not installed in this environment")
    return Path(spec.origin).resolve().parent


def _binary_cache_dirs() -> list[Path]:
    """Where prisma-client-py keeps downloaded engines (its ``binary_cache_dir``), for this engine commit."""
    explicit = os.environ.get("PRISMA_BINARY_CACHE_DIR")
    if explicit:
        return [Path(explicit)]
    home = Path(os.environ.get("PRISMA_HOME_DIR") or Path.home())
    return sorted((home / ".cache" / "prisma-python" / "binaries").glob(f"*/{ENGINE_COMMIT}"))


def native_query_engine() -> Path | None:
    """A native query engine prisma-client-py would find on its own, if one is installed.

    Looked up where prisma-client-py looks (the working directory, then its binary cache),
    without importing ``prisma``: that imports the generated client, ~7 s of CPU, and this runs
    in ``litemaas proxy`` before LiteLLM starts (it was most of our share of the cold start).
    """
    explicit = os.environ.get("PRISMA_QUERY_ENGINE_BINARY")
    if explicit and Path(explicit).resolve() != (BIN_DIR / "query-engine").resolve():
        return Path(explicit) if Path(explicit).exists() else None
    for directory in (Path.cwd(), *_binary_cache_dirs()):
        for candidate in sorted(directory.glob("prisma-query-engine-*")):
            if candidate.is_file() and _is_our_engine(candidate):
                return candidate
    return None


def _is_our_engine(binary: Path) -> bool:
    """An engine of this commit that runs here (not one for another platform or Prisma version)."""
    try:
        out = subprocess.run(  # noqa: S603  a file we found where prisma-client-py keeps its engines
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and ENGINE_COMMIT in out.stdout


def resolve_mode(mode: EngineMode) -> Literal["native", "offline"]:
    if mode == "auto":
        return "native" if native_query_engine() is not None else "offline"
    if mode == "native" and native_query_engine() is None:
        raise EngineSetupError(
            "prisma_engine=native but no native Prisma query engine is installed "
            "(set PRISMA_QUERY_ENGINE_BINARY or use prisma_engine=auto/offline)"
        )
    return mode


def prisma_env(mode: EngineMode = "auto", base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for anything that runs prisma-client-py (generate, the LiteLLM proxy)."""
    env = dict(os.environ if base is None else base)
    venv_bin = str(Path(sys.executable).parent)
    # The generator (`prisma-client-py`) and `prisma` console scripts live beside python.
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.setdefault("PRISMA_HIDE_UPDATE_MESSAGE", "true")
    env.setdefault("CHECKPOINT_DISABLE", "1")
    if resolve_mode(mode) == "offline":
        env["PRISMA_QUERY_ENGINE_BINARY"] = str(BIN_DIR / "query-engine")
        env["PRISMA_SCHEMA_ENGINE_BINARY"] = str(BIN_DIR / "schema-engine")
        env["PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING"] = "1"
        env["PRISMA_BINARY_CACHE_DIR"] = str(ENGINE_DIR)
        env["PRISMA_USE_GLOBAL_NODE"] = "true"
    return env


def check_engine_installed() -> None:
    if not (ENGINE_DIR / "node_modules" / "@prisma" / "query-engine-wasm").is_dir():
        raise EngineSetupError(
            f"the offline engine's npm packages are missing; run `npm ci` in {ENGINE_DIR} (make install does)"
        )


def _stamp(schema: Path, mode: str) -> str:
    digest = hashlib.sha256(schema.read_bytes())
    digest.update(metadata.version("prisma").encode())
    digest.update(mode.encode())
    return digest.hexdigest()


def client_is_generated(mode: EngineMode = "auto") -> bool:
    resolved = resolve_mode(mode)
    pkg = _prisma_package_dir()
    stamp = pkg / _STAMP_NAME
    return (
        (pkg / "client.py").exists()
        and stamp.exists()
        and stamp.read_text().strip() == _stamp(litellm_schema_path(), resolved)
    )


def generate_client(mode: EngineMode = "auto", *, force: bool = False) -> bool:
    """Generate LiteLLM's Prisma client once per schema/prisma version; True if it ran."""
    resolved = resolve_mode(mode)
    if resolved == "offline":
        check_engine_installed()
    if not force and client_is_generated(mode):
        return False
    schema = litellm_schema_path()
    proc = subprocess.run(  # noqa: S603  argv built from our own paths and settings, no shell
        [sys.executable, "-m", "prisma", "generate", "--schema", str(schema)],
        env=prisma_env(mode),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise EngineSetupError(f"prisma generate failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    (_prisma_package_dir() / _STAMP_NAME).write_text(_stamp(schema, resolved) + "\n")
    return True
