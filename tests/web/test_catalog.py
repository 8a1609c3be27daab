"""The catalog and the model pages, against the real backend, LiteLLM proxy and simulator.

Every example on every model page of the demo catalog is taken from the rendered HTML, given a
real key and run as an attendee would run it (curl through a shell, Python with this venv's
interpreter) against the running proxy; its answer is checked. An example can never rot.
"""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from litemaas.web.examples import KEY_PLACEHOLDER
from tests.support.stack import CHAT, DOCLING, EMBED, GUARD
from tests.web.portal_support import check_page

# Every capability of the demo catalog, each example in curl and Python.
EXPECTED_EXAMPLES = {
    f"{name}-{language}"
    for name in (
        "chat",
        "chat-stream",
        "embeddings",
        "tokenize",
        "convert-source",
        "convert-file",
        "safety",
        "guardrail",
    )
    for language in ("curl", "python")
}


class _Examples(HTMLParser):
    """``{example id: code text}`` of the ``<figure data-example-id>`` blocks of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.examples: list[tuple[str, str]] = []
        self._current: str | None = None
        self._in_code = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "figure" and values.get("data-example-id"):
            self._current = values["data-example-id"]
        elif tag == "code" and self._current is not None:
            self._in_code, self._text = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self._in_code and self._current is not None:
            self.examples.append((self._current, "".join(self._text)))
            self._in_code, self._current = False, None

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self._text.append(data)


def _examples(html: str) -> list[tuple[str, str]]:
    parser = _Examples()
    parser.feed(html)
    parser.close()
    return parser.examples


def _run(example_id: str, code: str, key: str, workdir: Path) -> str:
    runnable = code.replace(KEY_PLACEHOLDER, key)
    if example_id.endswith("-curl"):
        argv = ["bash", "-euo", "pipefail", "-c", runnable]
    else:
        script = workdir / f"{example_id}.py"
        script.write_text(runnable)
        argv = [sys.executable, str(script)]
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{example_id} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{runnable}"
    return done.stdout


def _check(example_id: str, output: str) -> None:
    """The answer each example must give."""
    name, _, language = example_id.rpartition("-")
    curl = language == "curl"
    if name in ("chat", "guardrail"):
        text = json.loads(output)["choices"][0]["message"]["content"] if curl else output
        assert text.strip(), example_id
    elif name == "chat-stream":
        if curl:
            events = [line for line in output.splitlines() if line.startswith("data: ")]
            assert events[-1] == "data: [DONE]", output
            deltas = [
                json.loads(e[6:])["choices"][0]["delta"].get("content") or ""
                for e in events[:-1]
                if json.loads(e[6:])["choices"]
            ]
            assert "".join(deltas).strip(), output
        else:
            assert output.strip(), example_id
    elif name == "embeddings":
        if curl:
            assert len(json.loads(output)["data"][0]["embedding"]) > 0
        else:
            assert output.strip().endswith("dimensions") and int(output.split(maxsplit=1)[0]) > 0, output
    elif name == "tokenize":
        count = json.loads(output)["count"] if curl else int(output.split(maxsplit=1)[0])
        assert count > 0, output
    elif name in ("convert-source", "convert-file"):
        markdown = json.loads(output)["document"]["md_content"] if curl else output
        assert markdown.strip(), example_id
        if name == "convert-file":
            # The simulator writes one line per page of the file it received.
            assert "Page 2 of document.pdf" in markdown, markdown
    elif name == "safety":
        verdict = json.loads(output)["choices"][0]["message"]["content"] if curl else output
        assert verdict.strip() == "safe", verdict
    else:
        raise AssertionError(f"no check for example {example_id}")


async def test_every_example_on_every_model_page_works_against_the_real_proxy(
    stack_api: Any, stack_portal_server: Any, litellm_stack: Any, tmp_path: Path
) -> None:
    user = await stack_api("user")
    admin = await stack_api("admin")
    models = (await user.get("/api/v1/models")).json()
    names = [m["name"] for m in models]
    assert {CHAT, EMBED, DOCLING, GUARD} <= set(names)
    for name in names:
        subscribed = await user.post("/api/v1/subscriptions", json={"model": name})
        assert subscribed.status_code == 201, subscribed.text
        if subscribed.json()["status"] == "pending":
            approved = await admin.post(f"/api/v1/admin/subscriptions/{subscribed.json()['id']}/approve")
            assert approved.status_code == 200, approved.text
    created = await user.post("/api/v1/keys", json={"alias": "examples", "models": names})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    # The upload examples send ./document.pdf.
    (tmp_path / "document.pdf").write_bytes(
        b"%PDF-1.4\n<< /Type /Page >>\nQuarterly report: revenue grew.\n<< /Type /Page >>\n%%EOF"
    )

    seen: set[str] = set()
    for name in names:
        page = await user.get(f"/catalog/{name}")
        assert page.status_code == 200, page.text
        assert key not in page.text
        found = _examples(page.text)
        assert found, f"no examples on the page of {name}"
        for example_id, code in found:
            assert KEY_PLACEHOLDER in code, example_id
            assert litellm_stack.proxy_url in code, example_id
            assert f'"{name}"' in code or f"={name}" in code, (example_id, code)
            _check(example_id, _run(example_id, code, key, tmp_path))
            seen.add(example_id)
    assert seen == EXPECTED_EXAMPLES


def test_examples_call_the_public_proxy_url_and_never_carry_a_key() -> None:
    from litemaas.config import Settings
    from litemaas.web import examples

    settings = Settings(proxy_url="http://127.0.0.1:4000", public_proxy_url="https://maas.example.org/")
    assert settings.public_proxy_url is not None
    sets = examples.for_model(
        "m",
        ["chat", "embeddings", "tokenize", "document_conversion", "safety"],
        proxy_url=settings.public_proxy_url,
        document_url="https://docs.example.org/a.pdf",
    )
    codes = [e.code for s in sets for e in s.examples]
    assert len(codes) == len(EXPECTED_EXAMPLES)
    assert all("https://maas.example.org" in c and "127.0.0.1" not in c and KEY_PLACEHOLDER in c for c in codes)


async def _state(page: Page, model: str) -> Any:
    return page.locator(f'[data-testid="model-card"][data-model="{model}"] [data-testid="subscription"]')


async def test_catalog_filter_subscribe_and_request_access(
    stack_login: Any, stack_api: Any, stack_portal_server: Any
) -> None:
    page = await stack_login("user", next_path="/catalog")
    cards = page.get_by_test_id("model-card")
    await expect(cards.first).to_be_visible()
    total = await cards.count()
    assert total >= 7
    # Document conversion: no token prices, no max tokens; chat models show both.
    docling = page.locator(f'[data-testid="model-card"][data-model="{DOCLING}"]')
    await expect(docling.get_by_test_id("token-prices")).to_have_count(0)
    await expect(docling.get_by_test_id("max-output")).to_have_count(0)
    chat = page.locator(f'[data-testid="model-card"][data-model="{CHAT}"]')
    await expect(chat.get_by_test_id("token-prices")).to_contain_text("$")
    await expect(chat.locator('[data-capability="chat"]')).to_have_class("pf-v6-c-label pf-m-compact pf-m-blue")
    await expect(chat.locator('[data-capability="tokenize"]')).to_have_class(
        "pf-v6-c-label pf-m-compact pf-m-orangered"
    )
    await check_page(page, "catalog-models")

    # Filter by capability (htmx swaps the cards), then subscribe to the embeddings model.
    await page.get_by_label("Capability").select_option("embeddings")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_have_attribute("data-model", EMBED)
    embed_state = await _state(page, EMBED)
    await embed_state.get_by_test_id("subscribe").click()
    await expect(embed_state.get_by_test_id("subscription-status")).to_have_text("Active")

    # Search, then request the restricted safety model with a reason.
    await page.get_by_label("Capability").select_option("")
    await page.get_by_label("Search").fill("guard")
    await expect(cards).to_have_count(1)
    guard_state = await _state(page, GUARD)
    await expect(
        page.locator(f'[data-testid="model-card"][data-model="{GUARD}"]').get_by_test_id("restricted")
    ).to_be_visible()
    await guard_state.get_by_test_id("request-access").click()
    await guard_state.get_by_label("Why do you need this model?").fill("I teach the safety lab")
    await guard_state.get_by_test_id("send-request").click()
    await expect(guard_state.get_by_test_id("subscription-status")).to_have_text("Pending approval")

    mine = {s["model"]["name"]: s for s in await (await page.request.get("/api/v1/subscriptions")).json()}
    assert mine[EMBED]["status"] == "active"
    assert (mine[GUARD]["status"], mine[GUARD]["status_reason"]) == ("pending", "I teach the safety lab")

    # Without JavaScript the filters are a plain GET.
    html = await (
        await page.request.get(stack_portal_server.url + "/catalog?provider=&capability=document_conversion&q=")
    ).text()
    assert f'data-model="{DOCLING}"' in html and f'data-model="{CHAT}"' not in html

    await page.goto(stack_portal_server.url + f"/catalog/{CHAT}")
    await expect(page.locator('[data-example-id="chat-python"]')).to_be_visible()
    await check_page(page, "model-page")


async def test_subscribe_post_needs_the_csrf_token(stack_api: Any) -> None:
    user = await stack_api("user")
    refused = await user.post("/catalog/subscribe", data={"model": CHAT}, headers={"X-CSRF-Token": ""})
    assert refused.status_code == 403, refused.text
    mine = (await user.get("/api/v1/subscriptions")).json()
    assert mine == []
    done = await user.post("/catalog/subscribe", data={"model": CHAT}, headers={"HX-Request": "true"})
    assert done.status_code == 200, done.text
    assert 'data-state="active"' in done.text


async def test_catalog_and_model_pages_are_fully_translatable(
    make_app: Any, settings: Any, litellm_stack: Any, litellm_admin: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """With a pseudo-locale catalog every visible string is translated (model data and code excepted)."""
    import shutil

    from litemaas.web import i18n
    from tests.support.backend import asgi_client, dev_login, unique
    from tests.support.stack import make_stack_app
    from tests.web.test_layout import LOCALE_DIR, _pseudo_catalog, _untranslated

    shutil.copytree(LOCALE_DIR, tmp_path, dirs_exist_ok=True)
    _pseudo_catalog(tmp_path)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    pages = {}
    async with make_stack_app(make_app, settings, litellm_stack, litellm_admin) as app:
        async with asgi_client(app) as admin:
            await dev_login(admin, unique("xx-admin"), "admin")
            assert (await admin.post("/api/v1/admin/models/sync")).status_code == 200
        async with asgi_client(app, headers={"Accept-Language": "xx"}) as c:
            username = unique("xx")
            await dev_login(c, username, "user")
            models = (await c.get("/api/v1/models")).json()
            assert (await c.post("/api/v1/subscriptions", json={"model": GUARD})).status_code == 201
            pages["catalog"] = await c.get("/catalog")
            pages["catalog-empty"] = await c.get("/catalog", params={"q": "no-such-model"})
            for model in models:
                pages[model["name"]] = await c.get(f"/catalog/{model['name']}")
    data = {"LiteMaaS", username, "$", "USD", "curl", "Python", "python"}  # language names are names
    for model in models:
        data |= {str(model[f]) for f in ("name", "display_name", "description", "provider") if model[f]}
    for name, response in pages.items():
        assert response.status_code == 200, name
        codes = {code for _, code in _examples(response.text)}
        leftovers = [
            t
            for t in _untranslated(response.text, data)
            if t.strip() not in data and not any(t.strip() in c for c in codes)
        ]
        assert not leftovers, f"{name}: text not from the catalog: {leftovers}"
