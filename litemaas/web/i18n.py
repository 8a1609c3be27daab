"""Translations for the portal: gettext catalogs read from ``locale/<lang>/LC_MESSAGES/messages.po``.

Catalogs are read from the committed ``.po`` files at startup (no compile step to forget), so a
locale is added by dropping in a ``.po`` file: templates never change. Python code marks the few
strings it declares (navigation labels) with ``N_`` and templates translate them when rendering.
"""

from __future__ import annotations

import gettext
from io import BytesIO
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LOCALE = "en"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown (in a template)."""
    return message


def load_catalogs(locale_dir: Path | None = None) -> dict[str, gettext.NullTranslations]:
    """Every ``<lang>/LC_MESSAGES/messages.po`` under ``locale_dir``, plus English as the fallback."""
    locale_dir = locale_dir or LOCALE_DIR
    catalogs: dict[str, gettext.NullTranslations] = {}
    for po_path in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po_path.parent.parent.name
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=DOMAIN)
        compiled = BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        catalogs[lang] = gettext.GNUTranslations(compiled)
    catalogs.setdefault(DEFAULT_LOCALE, gettext.NullTranslations())
    return catalogs


def negotiate(accept_language: str | None, available: list[str]) -> str:
    """The best of ``available`` for an ``Accept-Language`` header, else the default locale."""
    if not accept_language:
        return DEFAULT_LOCALE
    preferred: list[tuple[float, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        lang, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if lang and lang != "*" and quality > 0:
            # Stable order for equal weights: earlier entries first.
            preferred.append((-quality + index * 1e-6, lang.replace("_", "-")))
    ranked = [lang for _, lang in sorted(preferred)]
    return negotiate_locale(ranked, available, sep="-") or DEFAULT_LOCALE
