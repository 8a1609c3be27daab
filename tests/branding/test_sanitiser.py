"""The SVG sanitiser and the raster checks, on their own: every hostile SVG of the corpus is refused
(none is served, even cleaned); inert editor leftovers are stripped; a benign logo keeps its meaning;
truncated, mislabelled, oversized and polyglot rasters are refused naming the problem."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from defusedxml import ElementTree as DefusedET

from litemaas.banners.markdown import render_message
from litemaas.branding.errors import ImageRefused, SvgRefused
from litemaas.branding.images import MAX_IMAGE_BYTES, check_image
from litemaas.branding.svg import sanitize_svg
from tests.branding.support import BENIGN_LOGO, HOSTILE_SVGS, png_html_polyglot, raster

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@pytest.mark.parametrize("name", sorted(HOSTILE_SVGS))
def test_every_hostile_svg_is_refused(name: str) -> None:
    with pytest.raises(SvgRefused) as refused:
        sanitize_svg(HOSTILE_SVGS[name])
    assert refused.value.code == "svg_refused"
    assert refused.value.field == "image"
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("script", "<script>"),
        ("onload", "onload"),
        ("use_href_javascript", "javascript:alert(1)"),
        ("xlink_href_external", "https://evil.example/sprite.svg#logo"),
        ("foreign_object_html", "<foreignObject>"),
        ("style_remote_url", "url()"),
        ("xxe", "DOCTYPE"),
        ("billion_laughs", "DOCTYPE"),
        ("html_root_polyglot", "<html>"),
        ("set_animation_to_javascript", "<a>"),
    ],
)
def test_the_refusal_names_what_is_not_allowed(name: str, named: str) -> None:
    with pytest.raises(SvgRefused) as refused:
        sanitize_svg(HOSTILE_SVGS[name])
    assert named in refused.value.message


def _shape(element: ElementTree.Element) -> tuple[object, ...]:
    """An element's meaning: tag, attributes, text and children (whitespace between tags ignored)."""
    return (
        element.tag,
        sorted(element.attrib.items()),
        (element.text or "").strip(),
        [(_shape(child), (child.tail or "").strip()) for child in element],
    )


def test_a_benign_logo_keeps_its_meaning_and_loses_only_editor_leftovers() -> None:
    cleaned = sanitize_svg(BENIGN_LOGO)
    out = DefusedET.fromstring(cleaned)
    original = DefusedET.fromstring(BENIGN_LOGO)
    # What the sanitiser strips: the editor's namespaced element and attribute, and <metadata>.
    for parent in original.iter():
        for child in list(parent):
            if not child.tag.startswith(SVG) or child.tag == f"{SVG}metadata":
                parent.remove(child)
    for element in original.iter():
        for name in [n for n in element.attrib if n.startswith("{") and n != XLINK_HREF]:
            del element.attrib[name]
    assert _shape(out) == _shape(original)
    assert out.find(f"{SVG}title").text == "ACME & Partners"
    assert out.find(f"{SVG}use").get(XLINK_HREF) == "#mark"
    assert b"inkscape" not in cleaned and b"sodipodi" not in cleaned and b"<!--" not in cleaned
    # Sanitising its own output changes nothing.
    assert sanitize_svg(cleaned) == cleaned


def test_an_embedded_raster_and_local_references_are_kept() -> None:
    logo = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"><clipPath id="c"><rect width="2" height="2"/>'
        b'</clipPath><image clip-path="url(#c)" width="2" height="2" href="data:image/png;base64,iVBORw0KGgo="/></svg>'
    )
    out = DefusedET.fromstring(sanitize_svg(logo))
    assert out.find(f"{SVG}image").get("href") == "data:image/png;base64,iVBORw0KGgo="
    assert out.find(f"{SVG}image").get("clip-path") == "url(#c)"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_real_rasters_pass_unchanged(fmt: str) -> None:
    data = raster(fmt)
    checked = check_image(data, f"image/{fmt.lower()}")
    assert checked.data == data
    assert checked.content_type == f"image/{fmt.lower()}"
    # Without a label (a browser that does not know the type) the content decides.
    assert check_image(data, "application/octet-stream").content_type == f"image/{fmt.lower()}"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_a_truncated_raster_is_refused_as_truncated(fmt: str) -> None:
    data = raster(fmt, size=(64, 64))
    with pytest.raises(ImageRefused) as refused:
        check_image(data[: len(data) // 2], f"image/{fmt.lower()}")
    assert refused.value.code == "image_truncated"
    assert "truncated" in refused.value.message


@pytest.mark.parametrize(
    ("data", "label", "code", "named"),
    [
        (raster("PNG"), "image/jpeg", "image_type_mismatch", "labelled image/jpeg but the content is image/png"),
        (raster("JPEG"), "image/svg+xml", "image_type_mismatch", "the content is image/jpeg"),
        (BENIGN_LOGO, "image/png", "image_type_mismatch", "the content is image/svg+xml"),
        (b"<html><script>alert(1)</script></html>", "image/png", "image_type_mismatch", "not an image"),
        (b"%PDF-1.7 not an image", None, "image_unsupported_type", "not a png, jpeg, gif, webp or svg"),
        (raster("PNG"), "image/tiff", "image_unsupported_type", "image/tiff is not accepted"),
        (raster("PNG") + b"\x00" * MAX_IMAGE_BYTES, "image/png", "image_too_large", "at most 2097152 bytes"),
        (raster("PNG", size=(5000, 2)), "image/png", "image_dimensions", "5000x2"),
        (png_html_polyglot(), "image/png", "image_polyglot", "follow the end"),
        (raster("JPEG") + b"<script>alert(1)</script>", "image/jpeg", "image_polyglot", "follow the end"),
        (b"", "image/png", "image_empty", "empty"),
    ],
)
def test_bad_rasters_are_refused_naming_the_problem(data: bytes, label: str | None, code: str, named: str) -> None:
    with pytest.raises(ImageRefused) as refused:
        check_image(data, label)
    assert refused.value.code == code
    assert named in refused.value.message
    assert refused.value.field == "image"


def test_markup_inside_a_raster_is_refused() -> None:
    """A PNG whose text chunk carries a page: decodes fine, ends where it should, still refused."""
    from io import BytesIO

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<html><script>alert(1)</script></html>")
    buffer = BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=info)
    with pytest.raises(ImageRefused) as refused:
        check_image(buffer.getvalue(), "image/png")
    assert refused.value.code == "image_polyglot"


@pytest.mark.parametrize(
    ("message", "fmt", "expected"),
    [
        ("**Maintenance** on *Friday*", "markdown", "<strong>Maintenance</strong> on <em>Friday</em>"),
        ("run `kubectl get pods`", "markdown", "run <code>kubectl get pods</code>"),
        (
            "see [status](https://status.example.com/?a=1&b=2)",
            "markdown",
            'see <a href="https://status.example.com/?a=1&amp;b=2" rel="noopener noreferrer">status</a>',
        ),
        ("<script>alert(1)</script>", "markdown", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("**<img src=x onerror=alert(1)>**", "markdown", "<strong>&lt;img src=x onerror=alert(1)&gt;</strong>"),
        ("[click](javascript:alert(1))", "markdown", "[click](javascript:alert(1))"),
        ("[click](javascript:alert`1`)", "markdown", "click"),
        ("[click](data:text/html;base64,PHNjcmlwdD4=)", "markdown", "click"),
        ("[click](//evil.example/)", "markdown", "click"),
        ("**bold** <b>html</b>", "text", "**bold** &lt;b&gt;html&lt;/b&gt;"),
    ],
)
def test_banner_markdown_subset_is_sanitised(message: str, fmt: str, expected: str) -> None:
    html = str(render_message(message, fmt))
    assert html == expected
    assert "<script" not in html
    # The only links that survive are http(s) ones.
    assert all(href.startswith(("http://", "https://")) for href in re.findall(r'href="([^"]*)"', html))
