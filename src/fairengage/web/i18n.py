"""English and French for pages and receipts (Babel catalogues, compiled in memory at start-up)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from io import BytesIO
from typing import cast

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

from fairengage.shipped import shipped

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LOCALES = shipped("web", "locales")


@lru_cache
def translations(lang: str) -> NullTranslations:
    """The catalogue for a language; English is the source text."""
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    # Compiling here rather than shipping .mo files keeps one source of truth in the repository.
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def contexted(lang: str) -> Callable[[str, str], str]:
    """`translations(lang).pgettext`, typed as it behaves.

    Babel declares its result `str | object`, but a catalogue holds strings and a message with no
    translation comes back as itself, so the answer is always a string.
    """
    return cast("Callable[[str, str], str]", translations(lang).pgettext)


def pick_language(request: Request) -> str:
    """?lang= first, then the language cookie, then the browser's Accept-Language, then English."""
    asked = request.query_params.get("lang") or request.cookies.get("lang")
    if asked in LANGUAGES:
        return asked
    header = request.headers.get("accept-language", "")
    ranked = []
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, tag.split("-")[0].lower()))
    for _weight, tag in sorted(ranked, reverse=True):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def N_(message: str) -> str:  # the conventional name gettext extractors look for
    """Mark a string for the catalogue without translating it here; it is translated where shown."""
    return message
