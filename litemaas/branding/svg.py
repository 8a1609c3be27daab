"""The SVG sanitiser: an allowlist over a parse that refuses DTDs and entities (defusedxml).

What happens to what (the admin sees a 400 naming the first refused thing; nothing is served half-cleaned):

- refused: a DOCTYPE or entity declaration (XXE, billion laughs), anything that does not parse as
  XML, a root other than ``<svg>`` in the SVG namespace (HTML, polyglots), elements that run or
  embed things (``script``, ``foreignObject``, ``iframe``, ``object``, ``embed``, ``a``, animation
  elements such as ``set``/``animate`` that can rewrite a reference) and every SVG element not on
  the allowlist, elements of unknown namespaces (XHTML, ...), event-handler attributes (``on*``),
  ``href``/``xlink:href`` other than a local ``#id`` (or, on ``<image>``, an embedded png/jpeg/gif/
  webp ``data:`` URL), ``javascript:``/``vbscript:``/``data:`` anywhere else in an attribute, and
  CSS (``style`` attributes, ``<style>`` elements, presentation attributes) with a ``url()`` other
  than ``url(#id)``, ``@import``, ``expression()``, ``image-set()``, ``-moz-binding`` or escapes.
- stripped silently (inert): comments, processing instructions, ``<metadata>``, the editors'
  namespaces (Inkscape, Sodipodi, RDF, Creative Commons, Dublin Core, Illustrator, Sketch) and
  attributes not on the allowlist that carry no code (``data-name``, ``enable-background``, ...).

The result is re-serialised from the parsed tree: the bytes served are the sanitiser's own output,
never the upload.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml
from defusedxml.ElementTree import fromstring

from litemaas.branding.errors import SvgRefused

__all__ = ["sanitize_svg"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

_EDITOR_NAMESPACES = frozenset(
    {
        "http://www.inkscape.org/namespaces/inkscape",
        "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "http://creativecommons.org/ns#",
        "http://web.resource.org/cc/",
        "http://purl.org/dc/elements/1.1/",
        "http://ns.adobe.com/AdobeIllustrator/10.0/",
        "http://ns.adobe.com/AdobeSVGViewerExtensions/3.0/",
        "http://ns.adobe.com/Extensibility/1.0/",
        "http://ns.adobe.com/Flows/1.0/",
        "http://ns.adobe.com/GenericCustomNamespace/1.0/",
        "http://ns.adobe.com/Graphs/1.0/",
        "http://ns.adobe.com/ImageReplacement/1.0/",
        "http://ns.adobe.com/SaveForWeb/1.0/",
        "http://ns.adobe.com/Variables/1.0/",
        "http://ns.adobe.com/XPath/1.0/",
        "http://www.bohemiancoding.com/sketch/ns",
    }
)

# One string, split: the list reads as the allowlist it is.
_ELEMENTS = frozenset(
    """svg g defs title desc symbol use path rect circle ellipse line polyline polygon text tspan textPath
    linearGradient radialGradient stop clipPath mask pattern marker image style filter feBlend feColorMatrix
    feComponentTransfer feComposite feDropShadow feFlood feFuncA feFuncB feFuncG feFuncR feGaussianBlur
    feMerge feMergeNode feMorphology feOffset feTile""".split()  # noqa: SIM905
)
_STRIPPED_ELEMENTS = frozenset({"metadata"})

# One string, split: the list reads as the allowlist it is.
_ATTRIBUTES = frozenset(
    """id class style transform viewBox preserveAspectRatio width height x y x1 y1 x2 y2 cx cy r rx ry fx fy fr
    d points pathLength fill fill-opacity fill-rule stroke stroke-width stroke-opacity stroke-linecap
    stroke-linejoin stroke-miterlimit stroke-dasharray stroke-dashoffset opacity color display visibility
    overflow clip-path clip-rule mask filter font-family font-size font-weight font-style font-variant
    font-stretch text-anchor dominant-baseline alignment-baseline baseline-shift letter-spacing word-spacing
    text-decoration writing-mode direction unicode-bidi dx dy rotate textLength lengthAdjust startOffset
    offset stop-color stop-opacity gradientUnits gradientTransform spreadMethod patternUnits
    patternContentUnits patternTransform clipPathUnits maskUnits maskContentUnits markerWidth markerHeight
    markerUnits refX refY orient marker-start marker-mid marker-end filterUnits primitiveUnits in in2 result
    stdDeviation mode type values operator k1 k2 k3 k4 flood-color flood-opacity lighting-color radius
    tableValues slope intercept amplitude exponent color-interpolation color-interpolation-filters
    shape-rendering text-rendering image-rendering vector-effect paint-order mix-blend-mode isolation
    version baseProfile role aria-label aria-hidden focusable media href""".split()  # noqa: SIM905
)
_XML_ATTRIBUTES = frozenset({"space", "lang"})

_MAX_DEPTH = 64
_MAX_ELEMENTS = 20_000

_LOCAL_REF = re.compile(r"#[A-Za-z_][\w.\-:]*")
_RASTER_DATA_URL = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_URL = re.compile(r"url\(", re.IGNORECASE)
_CSS_LOCAL_URL = re.compile(r"""\s*(['"]?)#[\w.\-:]+\1\s*\)""")
_CSS_FORBIDDEN = ("@import", "expression(", "image-set(", "-moz-binding", "behavior:", "javascript:", "vbscript:")
_SCHEMES = ("javascript:", "vbscript:", "data:")


def _split(name: str) -> tuple[str | None, str]:
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return None, name


def _compact(value: str) -> str:
    """The value as a URL parser reads it: no whitespace or control characters, lower case."""
    return "".join(ch for ch in value if ch > " " and ch != "\x7f").lower()


def _check_css(css: str, where: str) -> None:
    if "\\" in css:
        raise SvgRefused(f"{where}: CSS escapes are not allowed")
    text = _CSS_COMMENT.sub(" ", css)
    lowered = _compact(text)
    for bad in _CSS_FORBIDDEN:
        if bad in lowered:
            raise SvgRefused(f"{where}: {bad.rstrip('(:')} is not allowed in CSS")
    for match in _CSS_URL.finditer(text):
        if not _CSS_LOCAL_URL.match(text, match.end()):
            raise SvgRefused(f"{where}: url() may only point inside the image (url(#id))")


def _check_reference(tag: str, name: str, value: str) -> None:
    target = "".join(value.split())
    if _LOCAL_REF.fullmatch(target):
        return
    if tag == "image" and _RASTER_DATA_URL.fullmatch(target):
        return
    shown = target[:60]
    raise SvgRefused(f"<{tag}> {name}={shown!r}: only a local #id (or an embedded raster on <image>) is allowed")


def _kept_name(tag: str, namespace: str | None, local: str, value: str) -> str | None:  # noqa: PLR0911  one exit per kind of attribute
    """The name to write the attribute under, None to strip it; ``SvgRefused`` when it is refused."""
    if local.lower().startswith("on"):
        raise SvgRefused(f"<{tag}> event handler attribute {local!r} is not allowed")
    if namespace in _EDITOR_NAMESPACES:
        return None
    if namespace == XLINK_NS:
        if local != "href":
            return None
        _check_reference(tag, "xlink:href", value)
        return "xlink:href"
    if namespace == XML_NS:
        return f"xml:{local}" if local in _XML_ATTRIBUTES else None
    if namespace is not None:
        raise SvgRefused(f"<{tag}> attribute {local!r} of namespace {namespace!r} is not allowed")
    if local not in _ATTRIBUTES:
        return None
    if local == "href":
        _check_reference(tag, "href", value)
        return local
    compact = _compact(value)
    for scheme in _SCHEMES:
        if scheme in compact:
            raise SvgRefused(f"<{tag}> {local}: {scheme} is not allowed")
    _check_css(value, f"<{tag}> {local}")
    return local


def _clean_attributes(element: Element, tag: str) -> dict[str, str]:
    kept: dict[str, str] = {}
    for raw_name, value in element.attrib.items():
        name = _kept_name(tag, *_split(raw_name), value)
        if name is not None:
            kept[name] = value
    return kept


def _allowed_element(namespace: str | None, tag: str) -> bool:
    """True to keep the element, False to strip it (with its subtree); ``SvgRefused`` when it is refused."""
    if namespace in _EDITOR_NAMESPACES or (namespace == SVG_NS and tag in _STRIPPED_ELEMENTS):
        return False
    if namespace != SVG_NS:
        raise SvgRefused(f"element <{tag}> of namespace {namespace or 'none'!r} is not allowed")
    if tag not in _ELEMENTS:
        raise SvgRefused(f"element <{tag}> is not allowed")
    return True


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.elements = 0
        self.uses_xlink = False

    def element(self, element: Element, depth: int) -> None:
        """Write ``element`` and its subtree, or nothing when it is stripped (the caller keeps its tail)."""
        if not isinstance(element.tag, str):
            return  # a comment or processing instruction (the parser drops them; belt and braces)
        namespace, tag = _split(element.tag)
        if not _allowed_element(namespace, tag):
            return
        if depth > _MAX_DEPTH:
            raise SvgRefused(f"elements nested deeper than {_MAX_DEPTH} levels")
        self.elements += 1
        if self.elements > _MAX_ELEMENTS:
            raise SvgRefused(f"more than {_MAX_ELEMENTS} elements")
        attributes = _clean_attributes(element, tag)
        if tag == "style":
            _check_css("".join(element.itertext()), "<style>")
        self.uses_xlink = self.uses_xlink or "xlink:href" in attributes
        rendered = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
        start = len(self.parts)
        self.parts.append(f"<{tag}{rendered}")
        opened = len(self.parts)
        self.parts.append(">")
        if element.text:
            self.parts.append(escape(element.text))
        for child in element:
            self.element(child, depth + 1)
            # The text after a child belongs to this element, whether the child was kept or stripped.
            if child.tail:
                self.parts.append(escape(child.tail))
        if len(self.parts) == opened + 1:
            self.parts[opened] = "/>"
        else:
            self.parts.append(f"</{tag}>")
        if depth == 0:
            self.parts[start] = self.parts[start].replace("<svg", f"<svg xmlns={quoteattr(SVG_NS)}", 1)


def sanitize_svg(data: bytes) -> bytes:
    """The sanitised SVG (UTF-8), or ``SvgRefused`` naming what is not allowed."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise SvgRefused("a DOCTYPE (DTD) is not allowed in an SVG") from None
    except defusedxml.EntitiesForbidden:
        raise SvgRefused("entity declarations are not allowed in an SVG") from None
    except defusedxml.DefusedXmlException as exc:
        raise SvgRefused(f"the SVG is refused: {type(exc).__name__}") from None
    except (ParseError, ValueError) as exc:
        raise SvgRefused(f"the SVG is not well-formed XML ({exc})") from None
    namespace, tag = _split(root.tag)
    if namespace != SVG_NS or tag != "svg":
        raise SvgRefused(f"the root element must be <svg> in the SVG namespace, not <{tag}>")
    writer = _Writer()
    writer.element(root, 0)
    output = "".join(writer.parts)
    if writer.uses_xlink:
        output = output.replace("<svg ", f"<svg xmlns:xlink={quoteattr(XLINK_NS)} ", 1)
    return output.encode("utf-8")
