"""Branding over HTTP: admin changes (audited), public reads with ETag/304 and cache headers, images
served with their checked type, nosniff and a sandboxing CSP; hostile or broken uploads refused with
400 naming the problem; read-only admins and users refused every write."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.branding.support import BENIGN_LOGO, HOSTILE_SVGS, png_html_polyglot, raster

pytestmark = pytest.mark.asyncio

ADMIN = "/api/v1/admin/branding"
PUBLIC = "/api/v1/branding"


@pytest.fixture
async def reset_branding(admin_client: Any):
    yield
    # The session database is shared: leave the defaults in force.
    assert (await admin_client.put(ADMIN, json={})).status_code == 200
    for slot in ("login_logo", "logo_light", "logo_dark"):
        await admin_client.delete(f"{ADMIN}/images/{slot}")


async def _upload(client: Any, slot: str, data: bytes, content_type: str) -> Any:
    return await client.put(f"{ADMIN}/images/{slot}", content=data, headers={"Content-Type": content_type})


async def test_texts_and_images_are_served_publicly_with_etags(admin_client, client, reset_branding) -> None:
    saved = await admin_client.put(
        ADMIN, json={"title": "ACME AI", "subtitle": "Models for all", "footer_text": "© ACME"}
    )
    assert saved.status_code == 200, saved.text
    png = raster("PNG")
    stored = await _upload(admin_client, "logo_light", png, "image/png")
    assert stored.status_code == 200, stored.text
    assert stored.json()["sha256"] == hashlib.sha256(png).hexdigest()
    svg = await _upload(admin_client, "login_logo", BENIGN_LOGO, "image/svg+xml")
    assert svg.status_code == 200, svg.text

    public = await client.get(PUBLIC)
    assert public.status_code == 200
    body = public.json()
    assert (body["title"], body["subtitle"], body["footer_text"]) == ("ACME AI", "Models for all", "© ACME")
    assert body["images"]["logo_dark"] is None
    assert body["images"]["login_logo"]["content_type"] == "image/svg+xml"
    assert public.headers["cache-control"] == "public, max-age=60"
    etag = public.headers["etag"]
    again = await client.get(PUBLIC, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert (await client.get(PUBLIC, headers={"If-None-Match": '"other"'})).status_code == 200

    light = await client.get(body["images"]["logo_light"]["url"])
    assert light.status_code == 200
    assert light.content == png
    assert light.headers["content-type"] == "image/png"
    assert light.headers["x-content-type-options"] == "nosniff"
    assert light.headers["etag"] == f'"{hashlib.sha256(png).hexdigest()}"'
    # The versioned address never changes meaning; the bare one is revalidated.
    assert "immutable" in light.headers["cache-control"]
    assert "immutable" not in (await client.get(f"{PUBLIC}/images/logo_light")).headers["cache-control"]
    revalidated = await client.get(f"{PUBLIC}/images/logo_light", headers={"If-None-Match": light.headers["etag"]})
    assert revalidated.status_code == 304

    logo = await client.get(f"{PUBLIC}/images/login_logo")
    assert logo.headers["content-type"] == "image/svg+xml"
    assert logo.headers["x-content-type-options"] == "nosniff"
    assert logo.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    assert b"ACME" in logo.content and b"inkscape" not in logo.content

    assert (await client.get(f"{PUBLIC}/images/logo_dark")).status_code == 404
    # A change gives a new ETag at once on this replica (the cache is dropped on commit).
    await admin_client.put(ADMIN, json={"title": "ACME AI 2"})
    changed = await client.get(PUBLIC, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["title"] == "ACME AI 2"


async def test_changes_are_audited_without_image_bytes(admin_client, reset_branding) -> None:
    await admin_client.put(ADMIN, json={"title": "Audited title"})
    png = raster("PNG", color=(1, 2, 3))
    await _upload(admin_client, "logo_dark", png, "image/png")
    assert (await admin_client.delete(f"{ADMIN}/images/logo_dark")).status_code == 204
    assert (await admin_client.delete(f"{ADMIN}/images/logo_dark")).status_code == 404

    events = (await admin_client.get("/api/v1/admin/audit", params={"action": "branding.*", "limit": 10})).json()
    by_action = {}
    for event in events["items"]:
        by_action.setdefault(event["action"], event)
    assert by_action["branding.update"]["after"]["title"] == "Audited title"
    stored = by_action["branding.image.update"]
    assert stored["target_id"] == "logo_dark"
    assert stored["after"] == {"content_type": "image/png", "size": len(png), "sha256": hashlib.sha256(png).hexdigest()}
    assert by_action["branding.image.delete"]["before"]["sha256"] == hashlib.sha256(png).hexdigest()


@pytest.mark.parametrize("name", sorted(HOSTILE_SVGS))
async def test_hostile_svgs_are_refused_and_nothing_is_stored(admin_client, client, name) -> None:
    refused = await _upload(admin_client, "logo_dark", HOSTILE_SVGS[name], "image/svg+xml")
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "svg_refused"
    assert refused.json()["field"] == "image"
    assert (await client.get(f"{PUBLIC}/images/logo_dark")).status_code == 404


@pytest.mark.parametrize(
    ("data", "label", "code"),
    [
        (raster("PNG") + b"\x00" * (2 * 1024 * 1024), "image/png", "image_too_large"),
        (raster("PNG", size=(64, 64))[:100], "image/png", "image_truncated"),
        (raster("JPEG"), "image/png", "image_type_mismatch"),
        (png_html_polyglot(), "image/png", "image_polyglot"),
        (b"<html><body>hi</body></html>", "text/html", "image_unsupported_type"),
    ],
)
async def test_bad_uploads_are_refused_naming_the_problem(admin_client, data, label, code) -> None:
    refused = await _upload(admin_client, "logo_light", data, label)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == code
    assert refused.json()["field"] == "image"
    assert refused.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"subtitle": "x" * 501}, "subtitle"),
        ({"footer_text": "bell\u0007"}, "footer_text"),
        ({"logo": "x"}, "logo"),
    ],
)
async def test_bad_texts_name_the_field(admin_client, body, field) -> None:
    response = await admin_client.put(ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_readonly_admins_and_users_cannot_change_branding(readonly_client, user_client, client) -> None:
    assert (await readonly_client.get(ADMIN)).status_code == 200
    for caller, status in ((readonly_client, 403), (user_client, 403), (client, 401)):
        assert (await caller.put(ADMIN, json={"title": "nope"})).status_code == status
        assert (await _upload(caller, "logo_light", raster("PNG"), "image/png")).status_code == status
        assert (await caller.delete(f"{ADMIN}/images/logo_light")).status_code == status
    assert (await client.get(PUBLIC)).json()["title"] != "nope"


async def test_the_console_form_refuses_a_bad_upload_naming_the_problem(admin_client, client, reset_branding) -> None:
    csrf = admin_client.headers["X-CSRF-Token"]
    for data, label, code in (
        (raster("PNG") + b"\x00" * (3 * 1024 * 1024), "image/png", "image_too_large"),
        (HOSTILE_SVGS["foreign_object_html"], "image/svg+xml", "svg_refused"),
        (raster("GIF"), "image/png", "image_type_mismatch"),
    ):
        page = await admin_client.post(
            "/admin/branding/images/logo_light",
            data={"csrf_token": csrf},
            files={"image": ("logo", data, label)},
        )
        assert page.status_code == 400, page.text[:300]
        assert f'data-error-code="{code}"' in page.text
    assert (await client.get(f"{PUBLIC}/images/logo_light")).status_code == 404
    stored = await admin_client.post(
        "/admin/branding/images/logo_light",
        data={"csrf_token": csrf},
        files={"image": ("logo.svg", BENIGN_LOGO, "image/svg+xml")},
    )
    assert stored.status_code == 303 and stored.headers["location"] == "/admin/branding?saved=logo_light"
    assert (await client.get(f"{PUBLIC}/images/logo_light")).headers["content-type"] == "image/svg+xml"


async def test_a_portal_form_body_is_bounded_before_authentication(client, admin_client) -> None:
    """Forms are parsed before the caller is known: an anonymous upload of any size must not be spooled."""
    boundary = "lm-bound"
    big = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + b"\x00" * (5 * 1024 * 1024)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    for caller in (client, admin_client):
        too_large = await caller.post("/admin/branding/images/login_logo", content=big, headers=headers)
        assert too_large.status_code == 413, too_large.text
        assert "files are limited to 2 MB" in too_large.text

    async def chunks():
        yield big[:1024]

    # No Content-Length (chunked): refused rather than read to find out.
    unbounded = await client.post("/admin/branding/images/login_logo", content=chunks(), headers=headers)
    assert unbounded.status_code == 411, unbounded.text
    assert "without its size" in unbounded.text
    # An ordinary form still reaches authentication (anonymous: sent to the login page).
    small = await client.post("/admin/branding", data={"title": "x"})
    assert small.status_code == 303 and small.headers["location"].startswith("/login")
