"""The French catalogue covers every string the pages ask for, with the same placeholders and no guesses."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "src" / "fairengage" / "web" / "locales"
FRENCH_PO = LOCALES / "fr" / "LC_MESSAGES" / "messages.po"
TEMPLATE_POT = LOCALES / "messages.pot"
UPDATE_HINT = "update the catalogue as docs/translations.md says"

# Python %-style conversions, named or not; "%%" is a literal percent sign and is left out below.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
# French puts a no-break space (or the narrow one) before these marks when a word or a space would
# otherwise touch them; a colon inside "12:30" or "https://" is followed by no space and is not one.
TIGHT_MARK = re.compile(r"(?<=[^\u00a0\u202f])[:;?!](?=\s|$)")
NO_BREAK = "\u00a0\u202f"

Key = tuple[str | tuple[str, ...], str | None]


@pytest.fixture(scope="module")
def extracted() -> dict[Key, list[str]]:
    """Every msgid the templates and Python sources ask for now, with where each is used."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename=str(ROOT / "babel.cfg"))
    found: dict[Key, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(ROOT, method_map, options_map):
        found.setdefault((message, context), []).append(f"{filename}:{lineno}")
    return found


def _load(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="fr")


@pytest.fixture(scope="module")
def french() -> Catalog:
    """The committed French catalogue, read the way web/i18n.py reads it."""
    return _load(FRENCH_PO)


def _forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _placeholders(text: str) -> Counter[str]:
    return Counter(token for token in PLACEHOLDER.findall(text) if token != "%%")


def _translated(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def test_extraction_finds_the_page_strings(extracted: dict[Key, list[str]]) -> None:
    # Guards the tests below: a broken babel.cfg would extract nothing and so find nothing untranslated.
    ids = {_forms(msgid)[0] for msgid, _context in extracted}
    assert {"Sign in", "Check a receipt", "Record a community engagement"} <= ids


def test_every_page_string_has_a_french_translation(extracted: dict[Key, list[str]], french: Catalog) -> None:
    missing = []
    for (msgid, context), where in sorted(extracted.items(), key=lambda item: item[1][0]):
        entry = french.get(msgid, context=context)
        if entry is None or not all(form.strip() for form in _forms(entry.string)):
            missing.append(f"{_forms(msgid)[0]!r} (used at {where[0]})")
    assert not missing, f"no French translation, {UPDATE_HINT}:\n" + "\n".join(missing)


def test_committed_template_lists_every_page_string(extracted: dict[Key, list[str]]) -> None:
    template = _load(TEMPLATE_POT)
    absent = [
        f"{_forms(msgid)[0]!r} (used at {where[0]})"
        for (msgid, context), where in extracted.items()
        if template.get(msgid, context=context) is None
    ]
    assert not absent, f"messages.pot is out of date, {UPDATE_HINT}:\n" + "\n".join(absent)


def test_french_placeholders_match_english(french: Catalog) -> None:
    wrong = []
    for message in _translated(french):
        expected = sum((_placeholders(form) for form in _forms(message.id)), Counter())
        for form in _forms(message.string):
            if not form:
                continue
            # Plural forms may each name every placeholder of the English singular and plural.
            got = _placeholders(form)
            if got != expected and not (isinstance(message.id, tuple) and set(got) <= set(expected)):
                wrong.append(f"{_forms(message.id)[0]!r}: {sorted(got)} != {sorted(expected)}")
                continue
            names = {name: "x" for name in re.findall(r"%\((\w+)\)", form)}
            try:
                # Pages fill the text with `text % values`: a stray % in the French would raise there.
                _ = form % names if names else form
            except (KeyError, TypeError, ValueError) as error:
                wrong.append(f"{_forms(message.id)[0]!r}: {form!r} does not format ({error})")
    assert not wrong, "placeholders differ between English and French:\n" + "\n".join(wrong)


def test_no_fuzzy_translations(french: Catalog) -> None:
    # Fuzzy entries are skipped when the catalogue is compiled, so the page would silently show English.
    fuzzy = [repr(_forms(message.id)[0]) for message in _translated(french) if message.fuzzy]
    assert not french.fuzzy, "the catalogue header is marked fuzzy"
    assert not fuzzy, "fuzzy entries, review them and remove the flag:\n" + "\n".join(fuzzy)


def test_french_punctuation_uses_no_break_spaces(french: Catalog) -> None:
    loose = []
    for message in _translated(french):
        for form in _forms(message.string):
            if TIGHT_MARK.search(form) or re.search(rf"«[^{NO_BREAK}]|[^{NO_BREAK}]»", form):
                loose.append(repr(form))
    assert not loose, "put a no-break space (U+00A0) before : ; ? ! and inside « »:\n" + "\n".join(loose)
