"""Hook settings from the environment (the same in a laptop run and the stock container)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

_MB: Final = 1024 * 1024


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


@dataclass(frozen=True, slots=True)
class HookSettings:
    """``LITEMAAS_HOOKS_*`` knobs; every value has a production-safe default."""

    docling_max_upload_bytes: int
    max_request_bytes: int
    docling_timeout_s: float
    tokenize_timeout_s: float
    connect_timeout_s: float
    # Hosts (``docs.example.org``, ``*.example.org``) and addresses/CIDRs (``10.0.5.0/24``) that
    # document URLs may point at although they are private or cluster-internal.
    docling_allowed_sources: tuple[str, ...]
    # How long the proxy remembers which key started an async conversion task.
    docling_task_ttl_s: float

    @classmethod
    def from_env(cls) -> HookSettings:
        return cls(
            docling_max_upload_bytes=int(_float("LITEMAAS_HOOKS_DOCLING_MAX_UPLOAD_MB", 50.0) * _MB),
            max_request_bytes=int(_float("LITEMAAS_HOOKS_MAX_REQUEST_MB", 20.0) * _MB),
            docling_timeout_s=_float("LITEMAAS_HOOKS_DOCLING_TIMEOUT_S", 300.0),
            tokenize_timeout_s=_float("LITEMAAS_HOOKS_TOKENIZE_TIMEOUT_S", 30.0),
            connect_timeout_s=_float("LITEMAAS_HOOKS_CONNECT_TIMEOUT_S", 5.0),
            docling_allowed_sources=_list("LITEMAAS_HOOKS_DOCLING_ALLOWED_SOURCES"),
            docling_task_ttl_s=_float("LITEMAAS_HOOKS_DOCLING_TASK_TTL_S", 86400.0),
        )
