"""Hooks fixtures: the session's real proxy (``proxy``), fresh virtual keys, and a variant proxy.

Behaviour that needs other settings (fail-open, an unreachable safety model, response screening,
a 1 MB upload limit, per-model enablement, an allowlisted internal document server) runs against
one more real proxy on the same LiteLLM database (``variant``), started from a variant of the
shipped config (``tests/hooks/support.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hooks.support import Proxy, variant_config
from tests.support.stack import LiteLLMStack, ProxyProcess, free_port, start_proxy


@pytest.fixture(scope="session")
def proxy(litellm_stack: LiteLLMStack) -> Proxy:
    return Proxy(url=litellm_stack.proxy_url, stack=litellm_stack)


@pytest.fixture
def new_key(litellm_stack: LiteLLMStack) -> Callable[..., dict[str, Any]]:
    """Generate a virtual key for a fresh user; returns LiteLLM's JSON plus ``user_id``."""

    def make(models: list[str], **body: Any) -> dict[str, Any]:
        user_id = body.pop("user_id", f"hooks-user-{uuid.uuid4().hex[:8]}")
        generated = litellm_stack.generate_key(models=models, user_id=user_id, **body)
        return {**generated, "user_id": user_id}

    return make


@pytest.fixture(scope="session")
def variant(litellm_stack: LiteLLMStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    config_dir: Path = tmp_path_factory.mktemp("variant-config")
    (config_dir / "config.yaml").write_text(yaml.safe_dump(variant_config(free_port())))
    process: ProxyProcess = start_proxy(
        db_url=litellm_stack.litellm_database_url,
        master_key=litellm_stack.master_key,
        simulator_url=litellm_stack.simulator_url,
        config_dir=config_dir,
        extra_env={
            "LITEMAAS_HOOKS_DOCLING_MAX_UPLOAD_MB": "1",
            # The operator's allowlist: an internal document server on loopback.
            "LITEMAAS_HOOKS_DOCLING_ALLOWED_SOURCES": "127.0.0.1",
        },
    )
    try:
        yield Proxy(url=process.url, stack=litellm_stack)
    finally:
        process.stop()
