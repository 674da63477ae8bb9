"""One folding of free text for every rule that reads it: text that looks alike to a reader checks alike.

"Bl\\u0430ck" (a Cyrillic a) and "Bl\\u200back" (a zero-width space inside) read as "Black" on screen and
on paper, so a rule that refuses "Black" must refuse them too. Every text check in the policy layer goes
through `fold`, and the rule sets' own terms are folded the same way, so both sides of a comparison meet
in one form:

1. invisible characters removed: format characters (category Cf: zero-width spaces and joiners, soft
   hyphens, bidirectional controls, tags), every other default-ignorable code point (variation
   selectors, fillers, the combining grapheme joiner) and control characters other than whitespace;
2. the confusable skeleton of Unicode Technical Standard #39 (section 4), computed by ICU from the
   confusables data that ships with it: a Cyrillic "\\u0430" becomes "a", a Greek capital "\\u0392" "B";
3. case folded, then NFKC (what the skeleton left of compatibility forms and ligatures), then the
   skeleton again, so that case and look-alikes commute: the Cyrillic capital "\\u0412" reaches "b"
   through its Latin look-alike "B", which its own lower case would not;
4. accents dropped (NFKD, combining marks removed), as the rules have always matched "élevée" to "elevee";
5. "i" written as "l": the skeleton makes a capital "I" an "l" (they look alike), while case folding
   makes it an "i", so only one letter for the three keeps "HIGH", "high" and "HlGH" alike.

The skeleton is applied before anything that could change a character (NFKC, case), so replacing any
character by one with the same skeleton never changes the folded text: the property tests rely on it.
The skeleton is a comparison key, not text for people: it turns "m" into "rn" and "1" into "l" on both
sides of a match, so it is never stored or shown.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# PyICU carries ICU's UTS #39 implementation and its confusables data; nothing is fetched at run time.
import icu

# Whitespace controls still separate words; every other control character is invisible noise.
_KEPT_CONTROLS = frozenset("\t\n\x0b\x0c\r\x85")


@lru_cache(maxsize=1)
def _invisible() -> dict[int, None]:
    """A str.translate table that deletes every invisible code point."""
    found = icu.UnicodeSet("[[:Cf:][:Default_Ignorable_Code_Point:][:Cc:]]")
    table: dict[int, None] = {}
    for i in range(found.getRangeCount()):
        # PyICU returns a range's ends as one-character strings.
        start, end = ord(found.getRangeStart(i)), ord(found.getRangeEnd(i))
        table.update(dict.fromkeys(range(start, end + 1)))
    for kept in _KEPT_CONTROLS:
        table.pop(ord(kept), None)
    return table


@lru_cache(maxsize=1)
def _checker() -> icu.SpoofChecker:
    return icu.SpoofChecker()


def strip_invisible(text: str) -> str:
    """`text` without the characters that show nothing (zero-width, format, ignorable, controls)."""
    return text.translate(_invisible())


def skeleton(text: str) -> str:
    """The UTS #39 confusable skeleton of `text`: look-alikes from other scripts become their prototype."""
    # 0: no restriction flags; getSkeleton ignores its type argument since ICU 58.
    skeleton: str = _checker().getSkeleton(0, text)  # PyICU ships no types
    return skeleton


def fold(text: str) -> str:
    """The form in which every rule compares free text: visible, look-alike-free, caseless and unaccented."""
    caseless = skeleton(strip_invisible(text)).casefold()
    folded = skeleton(strip_invisible(unicodedata.normalize("NFKC", caseless)))
    decomposed = unicodedata.normalize("NFKD", folded)
    # Last, so that no step after it can bring an "i" back (step 5 above).
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("i", "l")


def words(text: str | None) -> tuple[str, ...]:
    """The words of the folded `text` ("Bl\\u0430ck, Noël, HIGH" -> ("black", "noel", "hlgh"))."""
    if not text:
        return ()
    return tuple(re.findall(r"[^\W_]+", fold(text)))


def is_blank(text: str | None) -> bool:
    """True when `text` shows nothing: empty, whitespace, or only invisible characters."""
    return text is None or not strip_invisible(unicodedata.normalize("NFKC", text)).strip()
