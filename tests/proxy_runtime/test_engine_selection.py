"""Engine selection: native Prisma engines when installed (setting ``auto``), else the offline engine."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from litemaas.proxy_runtime import prisma_client


def fake_native_engine(tmp_path: Path) -> Path:
    binary = tmp_path / "prisma-query-engine-debian-openssl-3.0.x"
    binary.write_text(f"#!/bin/sh\necho query-engine {prisma_client.ENGINE_COMMIT}\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def test_auto_uses_offline_engine_when_no_native_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PRISMA_QUERY_ENGINE_BINARY", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRISMA_BINARY_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert prisma_client.native_query_engine() is None
    assert prisma_client.resolve_mode("auto") == "offline"
    env = prisma_client.prisma_env("auto", base={"PATH": "/usr/bin"})
    assert env["PRISMA_QUERY_ENGINE_BINARY"] == str(prisma_client.BIN_DIR / "query-engine")
    assert env["PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING"] == "1"


def test_auto_prefers_an_installed_native_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    native = fake_native_engine(tmp_path)
    monkeypatch.setenv("PRISMA_QUERY_ENGINE_BINARY", str(native))
    assert prisma_client.native_query_engine() == native
    assert prisma_client.resolve_mode("auto") == "native"
    env = prisma_client.prisma_env("auto", base={"PATH": "/usr/bin", "PRISMA_QUERY_ENGINE_BINARY": str(native)})
    assert env["PRISMA_QUERY_ENGINE_BINARY"] == str(native)
    assert "PRISMA_SCHEMA_ENGINE_BINARY" not in env


def test_native_requested_but_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PRISMA_QUERY_ENGINE_BINARY", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRISMA_BINARY_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(prisma_client.EngineSetupError, match="no native Prisma query engine"):
        prisma_client.resolve_mode("native")


def test_offline_forced_even_with_native_present(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRISMA_QUERY_ENGINE_BINARY", str(fake_native_engine(tmp_path)))
    env = prisma_client.prisma_env("offline", base={"PATH": "/usr/bin"})
    assert env["PRISMA_QUERY_ENGINE_BINARY"] == str(prisma_client.BIN_DIR / "query-engine")


def test_generate_is_skipped_when_schema_unchanged() -> None:
    prisma_client.generate_client()
    assert prisma_client.client_is_generated()
    assert prisma_client.generate_client() is False


def test_auto_finds_a_native_engine_in_prismas_binary_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PRISMA_QUERY_ENGINE_BINARY", raising=False)
    monkeypatch.delenv("PRISMA_BINARY_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRISMA_HOME_DIR", str(tmp_path / "home"))
    assert prisma_client.native_query_engine() is None
    cache = tmp_path / "home" / ".cache" / "prisma-python" / "binaries" / "5.17.0" / prisma_client.ENGINE_COMMIT
    cache.mkdir(parents=True)
    native = fake_native_engine(cache)
    assert prisma_client.native_query_engine() == native
    assert prisma_client.resolve_mode("auto") == "native"


def test_engine_selection_does_not_import_the_generated_client() -> None:
    """`litemaas proxy` resolves the engine before LiteLLM starts; importing the generated client
    (the `prisma` package) there cost ~7 s of the cold start."""
    script = (
        "import sys\n"
        "from litemaas.proxy_runtime import prisma_client\n"
        "prisma_client.resolve_mode('auto'); prisma_client.client_is_generated()\n"
        "prisma_client.prisma_env('auto')\n"
        "print(sorted(m for m in sys.modules if m == 'prisma' or m.startswith(('prisma.', 'litellm'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout


def test_an_engine_of_another_version_or_platform_is_not_taken(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PRISMA_QUERY_ENGINE_BINARY", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRISMA_BINARY_CACHE_DIR", str(tmp_path / "cache"))
    stale = tmp_path / "prisma-query-engine-linux-musl"
    stale.write_text("#!/bin/sh\necho query-engine 0000000000000000000000000000000000000000\n")
    stale.chmod(stale.stat().st_mode | stat.S_IXUSR)
    foreign = tmp_path / "prisma-query-engine-darwin"
    foreign.write_bytes(b"\xcf\xfa\xed\xfe not an ELF program")
    foreign.chmod(foreign.stat().st_mode | stat.S_IXUSR)
    assert prisma_client.native_query_engine() is None
    assert prisma_client.resolve_mode("auto") == "offline"
