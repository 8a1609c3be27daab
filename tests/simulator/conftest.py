"""A real simulator process per test session (and helpers to start more with other options)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_simulator(*args: str, env: Mapping[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "litemaas.cli", "simulator", "--port", str(port), *args],
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("simulator did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def start_sim() -> Iterator[Callable[..., str]]:
    """Start another simulator with extra CLI options or environment; stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env: Mapping[str, str] | None = None) -> str:
        process, url = start_simulator(*args, env=env)
        started.append(process)
        return url

    yield start
    for process in started:
        stop(process)


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    process, url = start_simulator()
    yield url
    stop(process)


@pytest.fixture
def sim(sim_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim_url, timeout=10) as client:
        yield client
