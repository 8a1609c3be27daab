"""``litemaas reconcile`` as a command: report on stdout, logs on stderr, no secrets anywhere."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from typing import Any

from tests.support.stack import CHAT, token_hash


def test_reconcile_cli_prints_what_it_changed(litellm_stack: Any, backend_database_url: str, settings: Any) -> None:
    # A drift made directly in LiteLLM: a key tagged as ours that LiteMaaS never issued.
    orphan = "sk-" + secrets.token_urlsafe(32)
    response = litellm_stack.admin.post(
        "/key/generate",
        json={
            "key": orphan,
            "models": [CHAT],
            "user_id": str(uuid.uuid4()),
            "metadata": {"managed_by": "litemaas", "litemaas_key_id": str(uuid.uuid4())},
        },
    )
    assert response.status_code == 200, response.text
    env = {
        **os.environ,
        "LITEMAAS_DATABASE_URL": backend_database_url,
        "LITEMAAS_MASTER_KEY": litellm_stack.master_key,
        "LITEMAAS_PROXY_URL": litellm_stack.proxy_url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    runner = "import typer; from litemaas.jobs.commands import reconcile_command; typer.run(reconcile_command)"

    dry = subprocess.run(
        [sys.executable, "-c", runner, "--dry-run"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert dry.returncode == 0, dry.stderr
    assert "would fix" in dry.stdout and token_hash(orphan)[-8:] in dry.stdout
    assert "reconcile (dry run):" in dry.stdout
    assert orphan not in dry.stdout + dry.stderr

    run = subprocess.run(
        [sys.executable, "-c", runner], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    line = next(ln for ln in run.stdout.splitlines() if token_hash(orphan)[-8:] in ln)
    assert line.startswith("fixed") and "key.delete_in_litellm" in line
    assert "applied" in run.stdout.splitlines()[-1]
    assert (
        litellm_stack.admin.get("/key/info", params={"key": token_hash(orphan)}).json()["info"]["status"] == "deleted"
    )
