"""What the page layout shows around every page: branding, banners, navigation.

The admin console fills branding and banners from the database (``web.dependencies.get_branding``);
an empty field means ``base.html`` shows its default. Labels declared in Python are gettext message ids
(marked with ``N_``) that the templates translate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from litemaas.auth.permissions import Permission


@dataclass(frozen=True, slots=True)
class NavItem:
    """A navigation entry, shown to callers holding ``permission``; ``label`` is a message id."""

    path: str
    label: str
    permission: Permission
    order: int = 100
    # Message id of the group heading (``N_("Administration")``), None for the top level.
    group: str | None = None
    # A fragment (a small counter) loaded into the entry after the page, e.g. pending approvals.
    badge_url: str | None = None


@dataclass(frozen=True, slots=True)
class Banner:
    """A message across the top of every page (text as the admin wrote it: not translated)."""

    text: str
    level: Literal["info", "success", "warning", "danger"] = "info"
    link_url: str | None = None
    link_text: str | None = None
    # Set for a banner from the database: its id (for dismissing) and its message rendered by the
    # banners domain's sanitising Markdown subset (shown instead of ``text``).
    id: str | None = None
    html: Markup | None = None
    dismissible: bool = False


@dataclass(frozen=True, slots=True)
class FooterLink:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Branding:
    """Title, logos and footer; None means "the template's default"."""

    product_name: str | None = None
    subtitle: str | None = None
    # The masthead's logo (light theme, and dark theme when it has none of its own), the login page's.
    logo_url: str | None = None
    logo_dark_url: str | None = None
    login_logo_url: str | None = None
    footer_text: str | None = None
    footer_links: tuple[FooterLink, ...] = ()
    banners: tuple[Banner, ...] = field(default_factory=tuple)


DEFAULT_BRANDING = Branding()


@dataclass(frozen=True, slots=True)
class NavGroup:
    label: str | None
    items: tuple[NavItem, ...]


def visible_navigation(items: list[NavItem], permissions: frozenset[Permission]) -> list[NavGroup]:
    """The entries a caller may open, grouped (top level first), each group in ``order``."""
    allowed = sorted((i for i in items if i.permission in permissions), key=lambda i: (i.order, i.path))
    groups: dict[str | None, list[NavItem]] = {}
    for item in allowed:
        groups.setdefault(item.group, []).append(item)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[1][0].order))
    return [NavGroup(label, tuple(entries)) for label, entries in ordered]
