"""The portal skeleton over HTTP: page auth, security headers, CSRF, assets, translations."""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import brotli
import httpx
import pytest
from babel.messages.pofile import read_po

from litemaas.auth.permissions import Permission
from litemaas.web.assets import IMMUTABLE, NODE_MODULES, collect_assets
from litemaas.web.layout import NavItem, visible_navigation
from litemaas.web.pages import page_modules
from litemaas.web.rendering import CONTENT_SECURITY_POLICY
from litemaas.web.routing import PageRoute
from tests.support.backend import asgi_client, dev_login, unique
from tests.web.portal_support import portal_test_pages

REPO = Path(__file__).resolve().parents[2]
LOCALE_DIR = REPO / "litemaas" / "web" / "locale"


@pytest.fixture
async def portal(make_app):
    async with make_app() as app:
        app.include_router(portal_test_pages)
        yield app


@asynccontextmanager
async def _user(app, role: str = "user") -> AsyncIterator[httpx.AsyncClient]:
    client = asgi_client(app)
    try:
        yield await dev_login(client, unique(role), role)
    finally:
        await client.aclose()


def _assert_page_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert script_src == "script-src 'self'", script_src
    assert "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


# --- page auth -------------------------------------------------------------------------


async def test_anonymous_page_request_redirects_to_login_keeping_the_page(portal):
    async with asgi_client(portal) as c:
        response = await c.get("/catalog?capability=chat&q=granite")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/catalog?capability=chat&q=granite"]}
    _assert_page_headers(response)


async def test_htmx_request_without_session_is_sent_to_login_by_htmx(portal):
    async with asgi_client(portal) as c:
        response = await c.get(
            "/catalog", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/catalog?q=x"}
        )
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=%2Fcatalog%3Fq%3Dx"


async def test_login_page_keeps_only_same_origin_next(portal):
    async with asgi_client(portal) as c:
        kept = await c.get("/login", params={"next": "/catalog?q=a"})
        assert 'name="next" value="/catalog?q=a"' in kept.text
        for foreign in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
            page = await c.get("/login", params={"next": foreign})
            assert page.status_code == 200
            assert 'name="next" value="/"' in page.text, foreign
            assert "evil.example" not in page.text and "javascript:" not in page.text
        _assert_page_headers(kept)


async def test_dev_login_returns_to_next_and_logged_in_login_page_moves_on(portal):
    async with asgi_client(portal) as c:
        response = await c.post("/auth/dev", data={"username": unique(), "role": "user", "next": "/catalog?q=z"})
        assert response.status_code == 303 and response.headers["location"] == "/catalog?q=z"
        again = await c.get("/login", params={"next": "//evil.example"})
        assert again.status_code == 303 and again.headers["location"] == "/catalog"


async def test_login_page_explains_each_failure_code(portal):
    async with asgi_client(portal) as c:
        texts = {}
        for code in ("invalid_state", "login_failed", "idp_refused", "account_deactivated", "invalid_username", "zzz"):
            page = await c.get("/login", params={"error": code})
            match = re.search(
                r'data-testid="login-error".*?class="pf-v6-c-alert__title">(.*?)</p>', page.text, re.DOTALL
            )
            assert match, code
            texts[code] = re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip()
        assert len(set(texts.values())) == len(texts), texts
        hostile = await c.get("/login", params={"error": "<script>alert(1)</script>"})
        assert "<script>alert" not in hostile.text


async def test_development_form_only_in_development(make_app, settings):
    async with make_app(settings.model_copy(update={"dev_login_enabled": False})) as app, asgi_client(app) as c:
        page = await c.get("/login")
        assert 'id="dev"' not in page.text
        assert "No login method is configured" in page.text


async def test_forbidden_page_is_rendered_with_403(portal):
    async with _user(portal) as user:
        response = await user.get("/_test/admin-only")
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "You do not have access to this page" in response.text
        _assert_page_headers(response)
    async with _user(portal, "admin_readonly") as admin:
        assert (await admin.get("/_test/admin-only")).status_code == 200


async def test_root_goes_to_the_catalog(portal):
    async with asgi_client(portal) as c:
        response = await c.get("/")
        assert response.status_code == 303 and response.headers["location"] == "/catalog"
        _assert_page_headers(response)


# --- CSRF ------------------------------------------------------------------------------


async def test_form_post_without_csrf_token_is_refused(portal):
    async with _user(portal) as user:
        token = user.headers.pop("X-CSRF-Token")
        refused = await user.post("/_test/form", data={"note": "hi"})
        assert refused.status_code == 403
        assert "security token is missing" in refused.text
        _assert_page_headers(refused)
        wrong = await user.post("/_test/form", data={"note": "hi", "csrf_token": token[::-1]})
        assert wrong.status_code == 403
        as_field = await user.post("/_test/form", data={"note": "hi", "csrf_token": token})
        assert as_field.status_code == 200, as_field.text
        as_header = await user.post("/_test/form", data={"note": "hi"}, headers={"X-CSRF-Token": token})
        assert as_header.status_code == 200
        # The masthead's logout form: refused without the token, accepted with it.
        assert (await user.post("/auth/logout")).status_code == 403
        page = await user.get("/catalog")
        field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert field and field.group(1) == token
        assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page.text
        out = await user.post("/auth/logout", data={"csrf_token": field.group(1)})
        assert out.status_code == 303 and out.headers["location"] == "/login?logged_out=1"


async def test_htmx_forbidden_answer_is_an_alert_fragment(portal):
    async with _user(portal) as user:
        response = await user.get("/_test/admin-only", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#page-alerts"
    assert response.text.lstrip().startswith('<li class="pf-v6-c-alert-group__item">')


# --- assets ----------------------------------------------------------------------------


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


async def test_hashed_assets_are_served_compressed_with_long_cache(portal):
    async with asgi_client(portal) as c:
        page = await c.get("/login")
        urls = _asset_urls(page.text)
        assert len(urls) >= 5
        css = next(u for u in urls if u.startswith("/static/patternfly/patternfly.") and u.endswith(".css"))
        assert re.fullmatch(r"/static/patternfly/patternfly\.[0-9a-f]{12}\.css", css)
        plain = await c.get(css, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert plain.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert plain.headers["content-type"].startswith("text/css")
        br = await c.get(css, headers={"Accept-Encoding": "gzip, br"})
        assert br.headers["content-encoding"] == "br" and br.headers["vary"] == "Accept-Encoding"
        assert br.headers["cache-control"] == IMMUTABLE
        gz = await c.get(css, headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        # httpx decodes both: what the browser gets back is the same stylesheet.
        assert br.content == gz.content == plain.content
        raw = await c.send(c.build_request("GET", css, headers={"Accept-Encoding": "br"}), stream=True)
        compressed = b"".join([chunk async for chunk in raw.aiter_raw()])
        assert len(compressed) < len(plain.content) / 5
        assert brotli.decompress(compressed) == plain.content
        raw = await c.send(c.build_request("GET", css, headers={"Accept-Encoding": "gzip"}), stream=True)
        assert gzip.decompress(b"".join([chunk async for chunk in raw.aiter_raw()])) == plain.content
        again = await c.get(css, headers={"If-None-Match": plain.headers["etag"]})
        assert again.status_code == 304


async def test_stylesheet_references_are_hashed_and_served(portal):
    async with asgi_client(portal) as c:
        page = await c.get("/login")
        css_urls = [u for u in _asset_urls(page.text) if u.endswith(".css")]
        referenced = set()
        for url in css_urls:
            text = (await c.get(url)).text
            refs = re.findall(r"url\(\s*['\"]?([^'\")]+)", text)
            assert all(r.startswith(("/static/", "data:", "#")) for r in refs), [
                r for r in refs if "/static/" not in r
            ][:5]
            referenced |= {r.split("#")[0] for r in refs if r.startswith("/static/")}
        fonts = [r for r in referenced if r.endswith(".woff2")]
        assert any("RedHatText" in f for f in fonts) and any("pficon" in f for f in fonts)
        for url in sorted(referenced):
            response = await c.get(url)
            assert response.status_code == 200, url
            assert response.headers["cache-control"] == IMMUTABLE


async def test_only_collected_files_are_served(portal):
    async with asgi_client(portal) as c:
        page = await c.get("/login")
        css = next(u for u in _asset_urls(page.text) if u.endswith(".css"))
        for path in (
            css.replace(css.split(".")[-2], "0" * 12),
            "/static/patternfly/patternfly.css",
            "/static/../assets/package.json",
            "/static/axe-core/axe.min.js",
            "/static/patternfly/README.md",
        ):
            assert (await c.get(path)).status_code == 404, path


def test_collected_assets_are_few_and_from_the_lock():
    manifest = collect_assets()
    names = set(manifest.urls)
    assert {"patternfly/patternfly.css", "htmx/htmx.js", "app/theme.js", "app/portal.css"} <= names
    # The whole of node_modules is 50 MB; what is served is a handful of files.
    assert len(names) < 40
    assert sum(len(a.body) for a in manifest.by_path.values()) < 5_000_000
    assert not any(n.endswith((".scss", ".md", ".map")) for n in names)
    assert (NODE_MODULES / "axe-core").is_dir()


# --- navigation, page modules -------------------------------------------------------------


def test_navigation_follows_permissions():
    items = [
        NavItem("/catalog", "Models", Permission.MODELS_READ, order=10),
        NavItem("/admin/users", "Users", Permission.ADMIN_READ, order=10, group="Administration"),
        NavItem("/keys", "API keys", Permission.KEYS_OWN, order=20),
    ]
    user = visible_navigation(items, frozenset({Permission.MODELS_READ, Permission.KEYS_OWN}))
    assert [(g.label, [i.path for i in g.items]) for g in user] == [(None, ["/catalog", "/keys"])]
    admin = visible_navigation(items, frozenset(Permission))
    assert [g.label for g in admin] == [None, "Administration"]


async def test_navigation_is_rendered_for_the_role(portal):
    async with _user(portal) as user:
        page = await user.get("/catalog")
    assert re.search(r'href="/catalog" class="pf-v6-c-nav__link pf-m-current" aria-current="page"', page.text)


def test_every_page_route_is_a_page_route():
    """Every route of every page module gets the page handling (auth redirects, 403 page, headers)."""
    modules = page_modules()
    assert {m.__name__.rsplit(".", 1)[-1] for m in modules} >= {"login", "catalog"}
    for module in modules:
        assert module.router.routes, module.__name__
        assert all(isinstance(r, PageRoute) for r in module.router.routes), module.__name__


# --- translations ------------------------------------------------------------------------


def _msgids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id and isinstance(m.id, str)}


def test_english_catalog_is_up_to_date(tmp_path):
    """Every string of the templates and N_() labels is in the committed catalog (`make messages`)."""
    from babel.messages.frontend import CommandLineInterface

    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(REPO / "litemaas/web/babel.cfg"), "-k", "N_", "-o", str(pot), str(REPO)]
    )
    extracted = _msgids(pot)
    assert len(extracted) > 30
    committed = _msgids(LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po")
    assert extracted == committed, {"missing": sorted(extracted - committed), "stale": sorted(committed - extracted)}


def _pseudo_catalog(target: Path) -> None:
    """A locale ``xx`` whose every message is the English one wrapped in ⟦…⟧."""
    source = (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").read_text()
    out = []
    msgid = None
    for line in source.splitlines():
        if line.startswith('msgid "'):
            msgid = line[len("msgid ") :]
        if line.startswith('msgstr ""') and msgid not in (None, '""'):
            line = 'msgstr "⟦' + msgid[1:-1] + '⟧"'
        if line.startswith('"Language: en'):
            line = '"Language: xx\\n"'
        out.append(line)
    (target / "xx" / "LC_MESSAGES").mkdir(parents=True)
    (target / "xx" / "LC_MESSAGES" / "messages.po").write_text("\n".join(out) + "\n")


class _VisibleText(HTMLParser):
    """Text a person reads or hears: text nodes and the labelling attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt", "placeholder") and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def _untranslated(html: str, allowed: Iterable[str]) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    leftovers = []
    # Longest first, so a name inside a longer data value is not removed before that value.
    words = sorted(allowed, key=len, reverse=True)
    for text in parser.texts:
        rest = re.sub(r"⟦.*?⟧", "", text, flags=re.DOTALL)
        for word in words:
            rest = rest.replace(word, "")
        if re.search(r"[A-Za-z]{2,}", rest):
            leftovers.append(text)
    return leftovers


async def test_a_new_locale_needs_no_template_change(make_app, tmp_path, monkeypatch):
    """With a pseudo-locale catalog, every visible string on the pages comes out translated."""
    from litemaas.web import i18n

    shutil.copytree(LOCALE_DIR, tmp_path, dirs_exist_ok=True)
    _pseudo_catalog(tmp_path)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    async with make_app() as app:
        app.include_router(portal_test_pages)
        headers = {"Accept-Language": "xx, en;q=0.5"}
        async with asgi_client(app, headers=headers) as c:
            pages = {
                "login": await c.get("/login", params={"error": "login_failed"}),
                "login-no-error": await c.get("/login", params={"logged_out": "1"}),
            }
            username = unique("xx")
            await dev_login(c, username, "user")
            pages["catalog"] = await c.get("/catalog")
            pages["playground"] = await c.get("/playground")
            pages["usage"] = await c.get("/usage")
            pages["forbidden"] = await c.get("/_test/admin-only")
            # Data, not interface text: whatever models other tests put in this database.
            models = (await c.get("/api/v1/models")).json()
        assert (await asgi_client(app).get("/login")).text.count("⟦") == 0
    data = {"LiteMaaS", username}
    for model in models:
        data.update(v for v in (model["name"], model["display_name"], model["description"], model["provider"]) if v)
    for name, response in pages.items():
        assert response.headers["content-type"].startswith("text/html"), name
        assert 'lang="xx"' in response.text, name
        leftovers = _untranslated(response.text, data)
        assert not leftovers, f"{name}: text not from the catalog: {leftovers}"


async def test_login_page_offers_each_configured_provider_keeping_next(make_app, idp_settings):
    async with make_app(idp_settings) as app, asgi_client(app) as c:
        page = await c.get("/login", params={"next": "/catalog?q=a b"})
    links = dict(re.findall(r'href="(/auth/[a-z]+/start\?[^"]*)" data-provider="([a-z]+)"', page.text))
    assert sorted(links.values()) == ["oidc", "openshift"]
    for href in links:
        assert parse_qs(urlsplit(href.replace("&amp;", "&")).query) == {"next": ["/catalog?q=a b"]}
    assert "Log in with OpenShift" in page.text and "Log in with single sign-on" in page.text
