"""The catalog (and everything else) invalidates Redis keys one by one: never FLUSHALL / FLUSHDB."""

from __future__ import annotations

import re
from pathlib import Path

_FLUSH_CALL = re.compile(r"\.(flushall|flushdb)\s*\(|execute_command\(\s*['\"]flush(all|db)", re.IGNORECASE)


def test_no_redis_flush_call_in_the_backend() -> None:
    source = Path(__file__).resolve().parents[2] / "litemaas"
    offenders = [str(p) for p in source.rglob("*.py") if _FLUSH_CALL.search(p.read_text())]
    assert offenders == []
