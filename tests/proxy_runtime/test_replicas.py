"""Two LiteLLM proxy replicas sharing PostgreSQL and Redis hold limits and revocations together."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.stack import REDIS_URL, ProxyProcess, SimulatorProcess, start_proxy

CHAT = "granite-3-2-8b-instruct"


@dataclass
class Pair:
    a: ProxyProcess
    b: ProxyProcess
    master_key: str


@pytest.fixture(scope="module")
def replica_pair(litellm_database: str, simulator: SimulatorProcess) -> Iterator[Pair]:
    master_key = "sk-test-master-" + secrets.token_hex(12)
    config_dir = os.environ.get("LITEMAAS_TEST_LITELLM_CONFIG_DIR")
    kwargs = {
        "db_url": litellm_database,
        "master_key": master_key,
        "simulator_url": simulator.url,
        "redis_url": REDIS_URL,
        "config_dir": Path(config_dir) if config_dir else None,
    }
    a = start_proxy(**kwargs)  # type: ignore[arg-type]
    try:
        b = start_proxy(**kwargs)  # type: ignore[arg-type]
    except Exception:
        a.stop()
        raise
    yield Pair(a=a, b=b, master_key=master_key)
    a.stop()
    b.stop()


def generate(pair: Pair, **body: object) -> str:
    resp = httpx.post(
        f"{pair.a.url}/key/generate",
        json={"key_alias": f"replica-{uuid.uuid4().hex[:8]}", **body},
        headers={"Authorization": f"Bearer {pair.master_key}"},
        timeout=30,
    )
    resp.raise_for_status()
    key: str = resp.json()["key"]
    return key


def call(url: str, key: str) -> int:
    resp = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": CHAT, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    return resp.status_code


def test_rpm_limit_holds_across_replicas(replica_pair: Pair) -> None:
    limit = 6
    key = generate(replica_pair, models=[CHAT], rpm_limit=limit)
    targets = [replica_pair.a.url, replica_pair.b.url] * 10
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda url: call(url, key), targets))
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    assert 0 < admitted <= limit, statuses
    assert statuses.count(429) == len(targets) - admitted


def test_key_deleted_on_one_replica_is_refused_by_the_other_within_a_second(replica_pair: Pair) -> None:
    key = generate(replica_pair, models=[CHAT])
    # Both replicas have now seen (and cached) the key.
    assert call(replica_pair.a.url, key) == 200
    assert call(replica_pair.b.url, key) == 200
    resp = httpx.post(
        f"{replica_pair.a.url}/key/delete",
        json={"keys": [key]},
        headers={"Authorization": f"Bearer {replica_pair.master_key}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    deleted_at = time.monotonic()
    refused_after = None
    while time.monotonic() - deleted_at < 5:
        if call(replica_pair.b.url, key) in (401, 403):
            refused_after = time.monotonic() - deleted_at
            break
        time.sleep(0.05)
    assert refused_after is not None, "replica B kept accepting a deleted key for 5 s"
    assert refused_after <= 1.0, f"replica B refused the deleted key only after {refused_after:.2f}s"
