"""Images for the branding tests: small real rasters made with Pillow, a benign logo and hostile SVGs."""

from __future__ import annotations

from io import BytesIO

from PIL import Image


def raster(fmt: str, size: tuple[int, int] = (48, 24), color: tuple[int, int, int] = (200, 16, 46)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


BENIGN_LOGO = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Drawn in Inkscape -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
     xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
     viewBox="0 0 120 40" width="120" height="40" inkscape:version="1.3">
  <sodipodi:namedview id="view" pagecolor="#ffffff"/>
  <metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>
  <defs>
    <linearGradient id="brand" x1="0" y1="0" x2="1" y2="0">
      <stop offset="0" stop-color="#ee0000"/>
      <stop offset="1" stop-color="#a30000"/>
    </linearGradient>
    <path id="mark" d="M4 4 L16 4 L10 16 Z"/>
  </defs>
  <style>.word { font-family: "Red Hat Display", sans-serif; font-weight: 700; fill: url(#brand); }</style>
  <title>ACME &amp; Partners</title>
  <rect x="0" y="0" width="120" height="40" rx="6" fill="#fff" stroke="url(#brand)" stroke-width="2"/>
  <use xlink:href="#mark" transform="translate(6 10)"/>
  <use href="#mark" transform="translate(20 10)" style="fill: #151515; opacity: 0.8"/>
  <text x="40" y="26" class="word">ACME</text>
</svg>
"""

_SVG = 'xmlns="http://www.w3.org/2000/svg"'
_XLINK = 'xmlns:xlink="http://www.w3.org/1999/xlink"'

# name -> hostile SVG. Every one is refused (400 svg_refused); none is served, even cleaned.
HOSTILE_SVGS: dict[str, bytes] = {
    "script": f"<svg {_SVG}><script>alert(document.cookie)</script><rect width='1' height='1'/></svg>".encode(),
    "script_in_group": f"<svg {_SVG}><g><g><script type='text/ecmascript'>alert(1)</script></g></g></svg>".encode(),
    "onload": f"<svg {_SVG} onload='alert(1)'><rect width='1' height='1'/></svg>".encode(),
    "onclick_uppercase": f"<svg {_SVG}><rect ONCLICK='alert(1)' width='1' height='1'/></svg>".encode(),
    "use_href_javascript": f"<svg {_SVG}><use href='javascript:alert(1)'/></svg>".encode(),
    "use_href_javascript_obfuscated": f"<svg {_SVG}><use href=' jav&#x09;ascript:alert(1)'/></svg>".encode(),
    "xlink_href_external": f"<svg {_SVG} {_XLINK}><use xlink:href='https://evil.example/sprite.svg#logo'/></svg>".encode(),
    "image_external": f"<svg {_SVG}><image href='http://evil.example/track.png' width='1' height='1'/></svg>".encode(),
    "image_svg_data_url": f"<svg {_SVG}><image href='data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=' width='1' height='1'/></svg>".encode(),
    "anchor_javascript": f"<svg {_SVG}><a href='javascript:alert(1)'><rect width='1' height='1'/></a></svg>".encode(),
    "foreign_object_html": (
        f"<svg {_SVG}><foreignObject width='100' height='100'>"
        "<div xmlns='http://www.w3.org/1999/xhtml'><img src='x' onerror='alert(1)'/></div></foreignObject></svg>"
    ).encode(),
    "xhtml_script": f"<svg {_SVG}><script xmlns='http://www.w3.org/1999/xhtml'>alert(1)</script></svg>".encode(),
    "style_remote_url": f"<svg {_SVG}><style>rect {{ fill: url(http://evil.example/x.svg#p) }}</style></svg>".encode(),
    "style_attribute_remote_url": f"<svg {_SVG}><rect style=\"fill: url( 'https://evil.example/' )\"/></svg>".encode(),
    "style_import": f"<svg {_SVG}><style>@import 'https://evil.example/x.css';</style></svg>".encode(),
    "style_escape": f"<svg {_SVG}><style>rect {{ fill: \\75 rl(http://evil.example/) }}</style></svg>".encode(),
    "presentation_attribute_remote_url": f"<svg {_SVG}><rect fill='url(https://evil.example/#g)'/></svg>".encode(),
    "set_animation_to_javascript": f"<svg {_SVG}><a><set attributeName='href' to='javascript:alert(1)'/></a></svg>".encode(),
    "animate_href": f"<svg {_SVG}><animate attributeName='href' values='javascript:alert(1)'/></svg>".encode(),
    "iframe": f"<svg {_SVG}><iframe src='https://evil.example/'/></svg>".encode(),
    "xxe": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + f"<svg {_SVG}><text>&xxe;</text></svg>".encode()
    ),
    "billion_laughs": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        + f"<svg {_SVG}><text>&lol3;</text></svg>".encode()
    ),
    "doctype_public": (
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        + f"<svg {_SVG}><rect width='1' height='1'/></svg>".encode()
    ),
    "html_root_polyglot": f"<html><body><svg {_SVG}/><script>alert(1)</script></body></html>".encode(),
    "svg_then_html_polyglot": f"<svg {_SVG}><rect width='1' height='1'/></svg><script>alert(1)</script>".encode(),
    "no_svg_namespace": b"<svg><script>alert(1)</script></svg>",
    "unknown_namespace_element": f"<svg {_SVG}><x:payload xmlns:x='urn:evil'>1</x:payload></svg>".encode(),
}


def png_html_polyglot() -> bytes:
    """A real PNG with an HTML page after its end (a browser sniffing it would run the script)."""
    return raster("PNG") + b"<html><script>alert(document.domain)</script></html>"
