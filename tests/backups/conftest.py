"""Backups fixtures: real PostgreSQL (pg_dump/pg_restore of the server's version), moto's S3 server.

Here ``app`` is the backend wired to the real LiteLLM proxy (``stack_app``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backups.support import MotoS3
from tests.fixtures.stack import stack_app as app  # noqa: F401
from tests.support.services import LOG_DIR, free_port, wait_http


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server (``moto_server``) on a free port: speaks the S3 protocol over HTTP."""
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    moto_server = Path(sys.executable).parent / "moto_server"
    with open(LOG_DIR / f"moto-{port}.log", "ab") as log:
        proc = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(endpoint + "/moto-api/", proc, timeout=60)
        yield MotoS3(endpoint=endpoint, proc=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    return tmp_path / "backups"
