"""Playground figure for ``make bench``: time to first token through the portal vs. straight at the proxy.

Same model, same prompt, same proxy, simulator TTFT 200 ms. The portal path is
``POST /playground/chat`` (session cookie, CSRF, the user's chat models and playground key read
from the database, the stream relayed by the backend); the direct path is the OpenAI API at the
proxy with one of the user's own keys. Calls alternate so both see the same machine load.

    python -m tests.bench_playground [--iterations 60]
    python -m tests.bench --only playground
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import httpx

from tests.bench_backend import login, pct, stack, sync_catalog

CHAT = "granite-3-2-8b-instruct"
SIM_TTFT_MS = 200.0
PROMPT = "benchmark prompt with a few words"


async def _first_token_ms(
    client: httpx.AsyncClient, url: str, body: dict[str, object], headers: dict[str, str]
) -> float:
    """Milliseconds from sending to the first chunk carrying answer text (the stream is read to its end)."""
    started = time.perf_counter()
    first: float | None = None
    async with client.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {(await response.aread())[:200]!r}")
        buffer = ""
        async for text in response.aiter_text():
            buffer += text
            events = buffer.split("\n\n")
            buffer = events.pop()
            for event in events:
                data = event.strip().removeprefix("data:").strip()
                if first is None and data.startswith("{"):
                    choices = json.loads(data).get("choices") or [{}]
                    if (choices[0].get("delta") or {}).get("content"):
                        first = (time.perf_counter() - started) * 1000
    if first is None:
        raise RuntimeError(f"{url}: no answer text in the stream")
    return first


async def measure(base_url: str, proxy_url: str, iterations: int) -> tuple[list[float], list[float]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as portal, httpx.AsyncClient(timeout=60.0) as direct:
        await login(portal, f"bench-playground-{uuid.uuid4().hex[:6]}")
        (await portal.post("/api/v1/subscriptions", json={"model": CHAT})).raise_for_status()
        created = await portal.post("/api/v1/keys", json={"alias": "bench", "models": [CHAT]})
        created.raise_for_status()
        key = created.json()["key"]
        messages = [{"role": "user", "content": PROMPT}]
        portal_body = {"model": CHAT, "messages": messages, "max_tokens": 16}
        direct_body = {**portal_body, "stream": True, "stream_options": {"include_usage": True}}
        direct_headers = {"Authorization": f"Bearer {key}"}
        chat_url = f"{proxy_url}/v1/chat/completions"
        through_portal: list[float] = []
        straight: list[float] = []
        for i in range(iterations + 3):  # the first calls create the playground key and warm up
            a = await _first_token_ms(portal, "/playground/chat", portal_body, {})
            b = await _first_token_ms(direct, chat_url, direct_body, direct_headers)
            if i >= 3:
                through_portal.append(a)
                straight.append(b)
    return through_portal, straight


def run(iterations: int = 60) -> None:
    env = {"LITEMAAS_PLAYGROUND_RPM_LIMIT": "100000", "LITEMAAS_PLAYGROUND_TPM_LIMIT": "100000000"}
    with stack(sim_ttft_ms=SIM_TTFT_MS, extra_env=env) as s:
        asyncio.run(sync_catalog(s.backend_url))
        portal, direct = asyncio.run(measure(s.backend_url, s.proxy_url, iterations))
    assert len(portal) == len(direct) == iterations
    print(f"\n== playground: time to first token (simulator TTFT {SIM_TTFT_MS:.0f} ms, n={iterations} each)")
    print(f"  through the portal   p50 {pct(portal, 50):7.1f} ms  p99 {pct(portal, 99):7.1f} ms")
    print(f"  straight at proxy    p50 {pct(direct, 50):7.1f} ms  p99 {pct(direct, 99):7.1f} ms")
    overhead = [a - b for a, b in zip(portal, direct, strict=True)]
    print(
        f"  portal overhead      p50 {pct(portal, 50) - pct(direct, 50):+7.1f} ms "
        f"(paired: p50 {pct(overhead, 50):+.1f} ms, p99 {pct(overhead, 99):+.1f} ms; target <= 10 ms p50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=60)
    args, _ = parser.parse_known_args()
    run(args.iterations)


if __name__ == "__main__":
    main()
