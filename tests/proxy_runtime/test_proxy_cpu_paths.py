"""Work LiteLLM would repeat for nothing, found by profiling the proxy (issue 12), stays removed.

Imports LiteLLM runs on every virtual-key request must succeed once and stay imported.

``user_api_key_auth._seed_request_destinations`` imports LiteLLM's OTel fan-out inside a
``try/except Exception`` on every authenticated request. Without ``opentelemetry-sdk`` the import
fails, Python drops the half-imported module, and the next request loads and executes it again:
the profile at concurrency 32 put ~27 % of LiteLLM's CPU there (issue 12). The SDK is a pinned
dependency for that reason; this test fails if the import breaks again (package removed, LiteLLM
adds an import we lack).
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap

from tests.support.stack import LiteLLMStack


def _imports_of(func: object) -> list[tuple[str, list[str]]]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))  # type: ignore[arg-type]
    return [
        (node.module, [alias.name for alias in node.names])
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    ]


def test_the_per_request_otel_imports_succeed_and_are_cached() -> None:
    from litellm.proxy.auth import user_api_key_auth

    imports = _imports_of(user_api_key_auth._seed_request_destinations)
    assert any(module.startswith("litellm.integrations.otel") for module, _ in imports), imports
    script = textwrap.dedent(
        """
        import importlib, json, sys
        imports = json.loads(sys.argv[1])
        failures = []
        for module, names in imports:
            try:
                mod = importlib.import_module(module)
                for name in names:
                    getattr(mod, name)
            except Exception as exc:
                failures.append(f"{module}: {type(exc).__name__}: {exc}")
        cached = [module for module, _ in imports if module in sys.modules]
        print(json.dumps({"failures": failures, "cached": cached}))
        """
    )
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(imports)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["failures"] == [], result["failures"]
    # Kept in sys.modules: the next request finds the module instead of executing it again.
    assert result["cached"] == [module for module, _ in imports], result


def test_litellm_start_does_not_run_the_prisma_migration_diff(litellm_stack: LiteLLMStack) -> None:
    """LiteLLM's start-up `prisma migrate diff` (a Node CLI, ~8 s of CPU, the database password in
    its argv) is cut at once: our migrations have run and been checked before LiteLLM starts."""
    from litemaas.proxy_runtime.supervisor import PRISMA_DIFF_TIMEOUT_S

    log = litellm_stack.proxy.log_path.read_text(errors="replace")
    assert f"Timed out after {float(PRISMA_DIFF_TIMEOUT_S)}s generating the migration diff" in log
    assert "Failed to generate migration diff" not in log
    assert "Changes to DB Schema detected" not in log
