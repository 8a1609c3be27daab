"""Async docling tasks across two proxy replicas sharing Redis: owner-only access, charged once."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.hooks.support import DOCLING, Proxy, marker, sim_requests, spend_rows
from tests.support.stack import REDIS_URL, LiteLLMStack, ProxyProcess, start_proxy

DOCLING_PAGE_PRICE = 0.001  # litellm_config/config.yaml, granite-docling-258m


@pytest.fixture(scope="module")
def replicas(litellm_stack: LiteLLMStack) -> Iterator[tuple[Proxy, Proxy]]:
    """Two proxies on the session's LiteLLM database and the shared Redis, as in production."""

    def start() -> ProxyProcess:
        return start_proxy(
            db_url=litellm_stack.litellm_database_url,
            master_key=litellm_stack.master_key,
            simulator_url=litellm_stack.simulator_url,
            redis_url=REDIS_URL,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(start), pool.submit(start)]
        processes = [future.result() for future in futures]
    try:
        yield Proxy(processes[0].url, litellm_stack), Proxy(processes[1].url, litellm_stack)
    finally:
        for process in processes:
            process.stop()


def _pdf(pages: int) -> bytes:
    return b"%PDF-1.4\n" + b"<< /Type /Page >>\n" * pages + b"%%EOF"


def test_a_task_started_on_one_replica_is_the_owners_on_every_replica_and_charged_once(
    replicas: tuple[Proxy, Proxy], litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    first, second = replicas
    owner = new_key([DOCLING])
    other = new_key([DOCLING])["key"]
    source = {"kind": "file", "base64_string": base64.b64encode(_pdf(3)).decode(), "filename": f"{marker()}.pdf"}
    task = first.post("/docling/v1/convert/source/async", owner["key"], json={"model": DOCLING, "sources": [source]})
    assert task.status_code == 200, task.text
    task_id = task.json()["task_id"]
    query = {"model": DOCLING}

    intruder = [
        second.get(f"/docling/v1/status/poll/{task_id}", other, params=query),
        second.get(f"/docling/v1/result/{task_id}", other, params=query),
        first.get(f"/docling/v1/result/{task_id}", other, params=query),
    ]
    assert [resp.status_code for resp in intruder] == [404, 404, 404]
    assert sim_requests(litellm_stack, f"/v1/result/{task_id}") == []

    poll = second.get(f"/docling/v1/status/poll/{task_id}", owner["key"], params=query)
    fetched = [
        second.get(f"/docling/v1/result/{task_id}", owner["key"], params=query),
        first.get(f"/docling/v1/result/{task_id}", owner["key"], params=query),
    ]

    assert poll.status_code == 200 and poll.json()["task_status"] == "success"
    assert [resp.status_code for resp in fetched] == [200, 200]
    assert [resp.headers["x-litellm-response-cost"] for resp in fetched] == [f"{3 * DOCLING_PAGE_PRICE:.10g}", "0"]
    rows = spend_rows(litellm_stack, owner["token"], expected=4)  # submit, poll, two result fetches
    assert len(rows) == 4
    assert sum(row["spend"] for row in rows) == pytest.approx(3 * DOCLING_PAGE_PRICE)
