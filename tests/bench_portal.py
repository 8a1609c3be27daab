"""Portal figures for ``make bench`` (issue 8): page server time and the catalog's first load.

Real processes: fresh databases, the simulator, a LiteLLM proxy and ``litemaas serve``.

- Page time: a user with 50 active subscriptions and 20 keys; ``GET /catalog``, ``/keys`` and
  ``/subscriptions`` with the user's session, 10 requests in flight at a time. Measured at the
  client over loopback, so each figure is the server's time plus one local round trip.
- First load of the catalog in headless Chromium with an empty cache: how many requests the page
  makes and the bytes transferred (compressed bodies + headers, as the network saw them).

    python -m tests.bench_portal [--requests 300]
    python -m tests.bench --only portal
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import httpx

from tests.bench_backend import Stack, Step, login, stack, sync_catalog

SUBSCRIPTIONS = 50
KEYS = 20
CONCURRENCY = 10
PAGES = ("/catalog", "/keys", "/subscriptions")


async def _seed(s: Stack) -> tuple[str, dict[str, str]]:
    """50 chat models, a user subscribed to all of them with 20 keys; returns the user's name and cookies."""
    async with httpx.AsyncClient(base_url=s.backend_url, timeout=120.0) as admin:
        await login(admin, f"bench-portal-admin-{uuid.uuid4().hex[:6]}", "admin")
        keys_settings = (await admin.get("/api/v1/admin/settings/api-keys")).json()
        keys_settings["max_active_keys_per_user"] = KEYS + 5
        (await admin.put("/api/v1/admin/settings/api-keys", json=keys_settings)).raise_for_status()
        open_models = [m for m in (await admin.get("/api/v1/models")).json() if not m["restricted"]]
        for i in range(SUBSCRIPTIONS - len(open_models)):
            created = await admin.post(
                "/api/v1/admin/models",
                json={
                    "name": f"bench-chat-{i:02d}",
                    "litellm_params": {
                        "model": "hosted_vllm/ibm-granite/granite-3.2-8b-instruct",
                        "api_base": f"{s.simulator_url}/v1",
                    },
                    "display_name": f"Bench chat model {i:02d}",
                    "capabilities": ["chat", "tokenize"],
                    "context_length": 8192,
                    "input_price_per_million": 0.2,
                    "output_price_per_million": 0.6,
                },
            )
            created.raise_for_status()
    username = f"bench-portal-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=s.backend_url, timeout=120.0) as user:
        await login(user, username)
        models = [m["name"] for m in (await user.get("/api/v1/models")).json()]
        subscribed: list[str] = []
        for model in models:
            response = await user.post("/api/v1/subscriptions", json={"model": model})
            if response.status_code == 201 and response.json()["status"] == "active":
                subscribed.append(model)
        if len(subscribed) < SUBSCRIPTIONS:
            raise RuntimeError(f"only {len(subscribed)} active subscriptions, wanted {SUBSCRIPTIONS}")
        for i in range(KEYS):
            created = await user.post(
                "/api/v1/keys", json={"alias": f"key-{i:02d}", "models": subscribed[i : i + 3] or subscribed[:1]}
            )
            created.raise_for_status()
        cookies = dict(user.cookies.items())
    return username, cookies


async def _page_times(base_url: str, cookies: dict[str, str], path: str, requests: int) -> Step:
    step = Step(path)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests + CONCURRENCY):  # the first CONCURRENCY requests warm up and are dropped
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            try:
                response = await client.get(path)
            except httpx.HTTPError as exc:
                step.errors.append(type(exc).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                step.errors.append(str(response.status_code))
            elif i >= CONCURRENCY:
                step.latencies_ms.append(elapsed)

    clients = [httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=60.0) for _ in range(CONCURRENCY)]
    try:
        await asyncio.gather(*(worker(c) for c in clients))
    finally:
        for client in clients:
            await client.aclose()
    return step


async def _first_load(base_url: str, username: str) -> tuple[int, int, int, dict[str, int]]:
    """Chromium, empty cache: (requests, bytes transferred, uncompressed bytes, bytes per resource type)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            context = await browser.new_context(base_url=base_url)
            page = await context.new_page()
            await page.goto("/login?next=/catalog")
            await page.fill("#dev-username", username)
            async with page.expect_navigation():
                await page.click("#dev button[type=submit]")
            # A second context with the session cookie only: nothing cached from the login page.
            cookies = await context.cookies()
            fresh = await browser.new_context(base_url=base_url)
            await fresh.add_cookies(cookies)
            page = await fresh.new_page()
            finished: list[Any] = []
            page.on("requestfinished", lambda request: finished.append(request))  # noqa: PLW0108  Playwright tags the handler; a bound builtin cannot be tagged
            await page.goto("/catalog", wait_until="networkidle")
            transferred = 0
            decoded = 0
            by_type: dict[str, int] = {}
            failed = 0
            for request in finished:
                sizes = await request.sizes()
                on_wire = sizes["responseBodySize"] + sizes["responseHeadersSize"]
                transferred += on_wire
                by_type[request.resource_type] = by_type.get(request.resource_type, 0) + on_wire
                response = await request.response()
                if response is None or not response.ok:
                    failed += 1
                    continue
                decoded += len(await response.body())
            if failed:
                raise RuntimeError(f"catalog first load: {failed} failed requests")
            return len(finished), transferred, decoded, by_type
        finally:
            await browser.close()


def run(requests: int = 300) -> None:
    with stack() as s:
        asyncio.run(sync_catalog(s.backend_url))
        username, cookies = asyncio.run(_seed(s))
        print(
            f"\n== portal: page time, a user with {SUBSCRIPTIONS} subscriptions and {KEYS} keys, "
            f"concurrency {CONCURRENCY} (client-side over loopback)"
        )
        for path in PAGES:
            step = asyncio.run(_page_times(s.backend_url, cookies, path, requests))
            assert not step.errors, step.errors[:5]
            print(step.line(), flush=True)
        count, transferred, decoded, by_type = asyncio.run(_first_load(s.backend_url, username))
        print(
            f"== portal: first load of /catalog (empty cache): {count} requests, "
            f"{transferred / 1024:.1f} KiB transferred ({decoded / 1024:.1f} KiB uncompressed)"
        )
        print("  by type: " + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in sorted(by_type.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    args, _ = parser.parse_known_args()
    run(args.requests)


if __name__ == "__main__":
    main()
