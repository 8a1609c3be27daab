"""The Containerfile and `make image`, checked as text and as a command (no container engine here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from tests.openshift.support import REPO

CONTAINERFILE = (REPO / "Containerfile").read_text()


def _stages() -> list[str]:
    """The Containerfile split at each FROM (comments dropped, continuation lines joined)."""
    lines = [line for line in CONTAINERFILE.splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]


def test_builder_installs_from_the_locks_and_generates_the_prisma_client() -> None:
    builder, final = _stages()
    assert builder.startswith("${UBI_PYTHON} AS builder")
    assert "uv sync --frozen --no-dev" in builder
    assert builder.count("npm ci --ignore-scripts") == 2
    assert "package-lock.json" in builder
    assert "litemaas proxy generate" in builder
    assert "ubi9/python-311" in CONTAINERFILE


def test_final_stage_has_no_build_tools_and_runs_as_any_uid() -> None:
    _, final = _stages()
    assert final.startswith("${UBI_MINIMAL}")
    installs = " ".join(re.findall(r"microdnf install [^\n&]*", final))
    for tool in ("gcc", "make", "npm", "-devel", "git"):
        assert tool not in installs, tool
    assert "pip install" not in final
    assert "uv " not in final.replace("uv.lock", "")
    for runtime in ("python3.11", "nodejs", "postgresql"):
        assert runtime in installs
    assert "postgresql:16" in final
    users = re.findall(r"^USER (\S+)", final, flags=re.MULTILINE)
    assert users[-1] == "1001"
    assert "chgrp -R 0 /var/run/litemaas" in final
    assert "g=u" in final
    env = " ".join(re.findall(r"^ENV .*", final, flags=re.MULTILINE))
    assert "LITELLM_LOCAL_MODEL_COST_MAP=True" in env
    assert "LITEMAAS_STATE_DIR=/var/run/litemaas" in env


def test_containerignore_keeps_local_state_out() -> None:
    ignored = set((REPO / ".containerignore").read_text().split())
    assert {".git", ".venv", ".uv", ".run", ".env", "**/node_modules", "tests"} <= ignored


def test_make_image_fails_clearly_without_podman_or_buildah(tmp_path: os.PathLike[str]) -> None:
    # A PATH holding only make and the shell: neither podman nor buildah can be found.
    bin_dir = os.fspath(tmp_path)
    for tool in ("make", "bash", "sh"):
        found = shutil.which(tool)
        assert found
        os.symlink(found, os.path.join(bin_dir, tool))
    proc = subprocess.run(
        [os.path.join(bin_dir, "make"), "image"],
        cwd=REPO,
        env={"PATH": bin_dir, "HOME": bin_dir},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "needs podman or buildah" in proc.stderr
