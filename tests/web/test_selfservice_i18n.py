"""The keys and subscriptions pages and their dialogs come out of the message catalog entirely.

With a pseudo-locale catalog every visible string is translated (data such as model names,
aliases and key fingerprints excepted): a locale is added without touching the templates.
"""

from __future__ import annotations

import shutil
from typing import Any

from tests.support.backend import asgi_client, dev_login, unique
from tests.support.stack import CHAT, GUARD, make_stack_app
from tests.web.test_layout import LOCALE_DIR, _pseudo_catalog, _untranslated


async def test_keys_and_subscriptions_pages_are_fully_translatable(
    make_app: Any, settings: Any, litellm_stack: Any, litellm_admin: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from litemaas.web import i18n

    shutil.copytree(LOCALE_DIR, tmp_path, dirs_exist_ok=True)
    _pseudo_catalog(tmp_path)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    pages = {}
    async with make_stack_app(make_app, settings, litellm_stack, litellm_admin) as app:
        admin_name = unique("xx-admin")
        async with asgi_client(app) as admin:
            await dev_login(admin, admin_name, "admin")
            assert (await admin.post("/api/v1/admin/models/sync")).status_code == 200
            async with asgi_client(app, headers={"Accept-Language": "xx"}) as c:
                username = unique("xx")
                await dev_login(c, username, "user")
                pages["keys-empty"] = await c.get("/keys")
                pages["create-no-models"] = await c.get("/keys/new")
                pages["subscriptions-empty"] = await c.get("/subscriptions")
                assert (await c.post("/api/v1/subscriptions", json={"model": CHAT})).status_code == 201
                guard = (await c.post("/api/v1/subscriptions", json={"model": GUARD})).json()
                denied = await admin.post(f"/api/v1/admin/subscriptions/{guard['id']}/deny", json={"reason": "zz"})
                assert denied.status_code == 200
                created = await c.post("/api/v1/keys", json={"alias": "k1", "models": [CHAT], "max_budget": 2.0})
                key = created.json()
                pages["keys"] = await c.get("/keys")
                pages["create"] = await c.get("/keys/new")
                pages["create-error"] = await c.post("/keys", data={"alias": "", "models": CHAT})
                for action in ("edit", "rotate", "revoke"):
                    pages[f"key-{action}"] = await c.get(f"/keys/{key['id']}/{action}")
                pages["rotated"] = await c.post(f"/keys/{key['id']}/rotate")
                pages["subscriptions"] = await c.get("/subscriptions")
                for action in ("history", "cancel", "review"):
                    pages[f"subscription-{action}"] = await c.get(f"/subscriptions/{guard['id']}/{action}")
    data = {"LiteMaaS", username, admin_name, CHAT, GUARD, "k1", "zz", "Granite", "Instruct", "Llama", "Guard"}
    data |= {key["display"], key["display"].replace("…", "&hellip;")}
    for name, response in pages.items():
        assert response.headers["content-type"].startswith("text/html"), name
        assert response.status_code < 500, name
        text = response.text
        if name == "rotated":
            secret = text.split('data-testid="secret-value"')[0].rsplit('value="', 1)[1].split('"', 1)[0]
            data |= {secret, "sk-…" + secret[-4:]}
        leftovers = _untranslated(text, data)
        assert not leftovers, f"{name}: text not from the catalog: {leftovers}"
