"""One SSRF rule: the backend's copy (``litemaas.kit.url_policy``) is the hooks' module, byte for byte.

The hooks run in the stock LiteLLM image and may not import ``litemaas``; the backend does not ship
``hooks/``. So the module exists twice, and this test keeps the two the same.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_backend_checks_urls_with_the_hooks_rule() -> None:
    hooks = (REPO / "hooks" / "litemaas_hooks" / "url_policy.py").read_bytes()
    kit = (REPO / "litemaas" / "kit" / "url_policy.py").read_bytes()
    assert kit == hooks, "litemaas/kit/url_policy.py must be a copy of hooks/litemaas_hooks/url_policy.py"
