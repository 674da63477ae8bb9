"""Reason text that looks the same checks the same: invisible characters, look-alikes, case and accents.

"Bl\\u0430ck" (a Cyrillic a) and "Bl\\u200back" (a zero-width space) passed the race-in-reason check that
"Black" fails. Every text check now reads the text through policy/folding.py; these tests hold it to that.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import replace
from functools import cache

import icu
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairengage.policy import evaluate, get_ruleset
from fairengage.policy.checks import CHECKS, mentions_any
from fairengage.policy.folding import fold, is_blank, skeleton, strip_invisible, words
from policy.conftest import RULESET_IDS, compliant_facts

CYRILLIC_A = "\u0430"
ZERO_WIDTH_SPACE = "\u200b"
TEXT_RULES = ("REASON-REQUIRED", "RACE-NOT-A-REASON", "FORBIDDEN-REASONS", "NOT-ARBITRARY")

# Reasons that each rule set's text checks answer differently: naming a race, a forbidden phrase, short,
# ordinary, in English and in French, with and without accents.
REASONS = (
    "Black male standing on the corner",
    "Homme noir près du parc",
    "white guy, refused to answer when asked",
    "Standing in a high crime area near the plaza at night",
    "He walked away from me",
    "Trying the doors of parked cars along the lane, one after another",
    "Looking into parked cars one by one along the lane, trying door handles",
    "Noël au café, l'élève a crié « au voleur » et montré la forêt",
    "Seen at the hôtel façade with a crowbar, prying the window",
    "Middle Eastern man near the mosque",
    "Brown-skinned youth by the school",
    "loitering",
    "Il a refusé de répondre",
)


def verdicts(reason: str, ruleset_id: str, grounds: tuple[str, ...] = ()) -> tuple[tuple, ...]:
    """What the text-reading rules say of `reason` in `ruleset_id` (grounds as given)."""
    facts = compliant_facts(ruleset_id, reason=reason, reason_grounds=grounds)
    ruleset = get_ruleset(ruleset_id)
    return tuple(
        (f.code, f.verdict, f.field, f.refuses) for code in TEXT_RULES for f in CHECKS[code](facts, ruleset)
    )


def refused_by(reason: str, ruleset_id: str) -> set[str]:
    """The rules that refuse `reason` when no ground carries it, through the whole evaluator."""
    evaluation = evaluate(compliant_facts(ruleset_id, reason=reason, reason_grounds=()))
    return {e["rule"] for e in evaluation.errors()}


# --- the reported examples, in each rule set -------------------------------------------------------------


@pytest.mark.parametrize("ruleset_id", RULESET_IDS)
@pytest.mark.parametrize(
    "disguised",
    [
        f"Bl{CYRILLIC_A}ck male standing on the corner",
        f"Bl{ZERO_WIDTH_SPACE}ack male standing on the corner",
        "\u0412l\u0430\u0441k male standing on the corner",  # Cyrillic capital Ve, a, es
        "\u0392L\u0391\u0421\u039a male standing on the corner",  # Greek capitals, a Cyrillic Es
        "\uff22lack male standing on the corner",  # full-width B
        "B\u00adl\u200da\u2060c\ufe0fk male standing on the corner",  # soft hyphen, joiners, selector
        "\U0001d401\U0001d425\U0001d41a\U0001d41c\U0001d424 male standing on the corner",  # bold maths
    ],
)
def test_disguised_race_words_are_refused_like_the_plain_one(disguised, ruleset_id):
    plain = "Black male standing on the corner"
    assert "RACE-NOT-A-REASON" in refused_by(plain, ruleset_id)
    assert "RACE-NOT-A-REASON" in refused_by(disguised, ruleset_id)
    assert verdicts(disguised, ruleset_id) == verdicts(plain, ruleset_id)


@pytest.mark.parametrize("ruleset_id", RULESET_IDS)
def test_disguised_forbidden_phrases_are_flagged(ruleset_id):
    plain = "Standing in a high crime area near the plaza at night"
    for disguised in (
        "Standing in a h\u0456gh cr\u0456me area near the plaza at night",  # Cyrillic i
        "Standing in a HIGH CR\u0399ME area near the plaza at night",  # Greek capital Iota
        "Standing in a HlGH CRlME area near the plaza at night",  # l for a capital I
        "Standing in a hi\u200cgh\u00a0cri\u200bme area near the plaza at night",
    ):
        seen = verdicts(disguised, ruleset_id, ("behaviour",))
        assert seen == verdicts(plain, ruleset_id, ("behaviour",))
        assert ("FORBIDDEN-REASONS", "fail", "reason", False) in seen


@pytest.mark.parametrize("ruleset_id", RULESET_IDS)
def test_a_reason_of_invisible_characters_is_no_reason(ruleset_id):
    for nothing in ("\u200b", "\u200b\u200c\u200d\u2060", "\ufeff \u00ad", "\u202e\u202c"):
        assert is_blank(nothing)
        assert "REASON-REQUIRED" in refused_by(nothing, ruleset_id)


def test_officer_name_of_invisible_characters_is_no_name():
    facts = compliant_facts("on-reg-58-16", officer_name="\u200b\u2060")
    finding = CHECKS["RECEIPT-CONTENT"](facts, get_ruleset("on-reg-58-16"))[0]
    assert (finding.verdict, finding.field) == ("fail", "officer")


# --- the folding itself ----------------------------------------------------------------------------------

# Well-known look-alikes, written out by hand so that this table does not come from the data under test.
LOOK_ALIKES = {
    "a": "\u0430\u0251",
    "c": "\u0441\u03f2",
    "e": "\u0435",
    "i": "\u0456\u03b9\u0131",
    "j": "\u0458",
    "o": "\u043e\u03bf\u0585",
    "p": "\u0440\u03c1",
    "s": "\u0455",
    "x": "\u0445",
    "y": "\u0443",
    "A": "\u0410\u0391",
    "B": "\u0412\u0392",
    "E": "\u0415\u0395",
    "H": "\u041d\u0397",
    "I": "\u0406\u0399",
    "K": "\u041a\u039a",
    "M": "\u041c\u039c",
    "N": "\u039d",
    "O": "\u041e\u039f",
    "P": "\u0420\u03a1",
    "T": "\u0422\u03a4",
    "X": "\u0425\u03a7",
}


@pytest.mark.parametrize("latin", sorted(LOOK_ALIKES))
def test_cyrillic_and_greek_look_alikes_fold_to_latin(latin):
    for other in LOOK_ALIKES[latin]:
        assert fold(f"x{other}y") == fold(f"x{latin}y"), (latin, other, unicodedata.name(other))


def test_case_accents_and_compatibility_forms_fold_away():
    assert fold("BLACK") == fold("black") == fold("Black")
    assert fold("HIGH CRIME") == fold("high crime")
    assert words("Noël, café, élève, garçon, Zoë") == ("noel", "cafe", "eleve", "garcon", "zoe")
    assert words("\uff37\uff48\uff49\uff54\uff45") == words("white")  # full-width
    assert strip_invisible("a\u200bb\u00adc\ufe0fd\u034fe\x00f\tg") == "abcdef\tg"


def test_no_word_is_found_inside_another():
    assert not mentions_any("blackberry bushes by the fence", ["black"])
    assert not mentions_any("bl\u0430ckberry bushes by the fence", ["black"])


def test_the_confusables_data_is_icu_s_and_recent():
    # ICU 72 (Debian 12) carries Unicode 15.0's confusables; older data lacks look-alikes added since.
    assert tuple(int(p) for p in icu.UNICODE_VERSION.split(".")[:2]) >= (15, 0)
    assert skeleton(CYRILLIC_A) == "a" and skeleton("\u0392") == "B" and skeleton("m") == "rn"


# --- properties: what looks the same checks the same ----------------------------------------------------


@cache
def invisibles() -> tuple[str, ...]:
    """Every assigned character that the folding removes as invisible."""
    return tuple(
        ch
        for ch in map(chr, range(0x110000))
        if unicodedata.category(ch) not in ("Cn", "Cs") and strip_invisible(ch) == ""
    )


@cache
def confusables() -> dict[str, tuple[str, ...]]:
    """For each ASCII letter, the other single characters with the same UTS #39 skeleton."""
    letters = {skeleton(letter): letter for letter in string.ascii_letters}
    found: dict[str, list[str]] = {letter: [] for letter in string.ascii_letters}
    for ch in map(chr, range(0x80, 0x20000)):
        if unicodedata.category(ch) in ("Cn", "Cs", "Co") or strip_invisible(ch) == "":
            continue
        letter = letters.get(skeleton(ch))
        if letter is not None:
            found[letter].append(ch)
    return {letter: tuple(chars) for letter, chars in found.items() if chars}


def test_the_property_alphabets_are_broad():
    # Guards the generators below: an empty table would make the properties pass vacuously.
    assert len(invisibles()) > 400 and "\u200b" in invisibles() and "\ufe0f" in invisibles()
    assert CYRILLIC_A in confusables()["a"] and "\u0392" in confusables()["B"]
    assert sum(map(len, confusables().values())) > 500


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), reason=st.sampled_from(REASONS), ruleset_id=st.sampled_from(RULESET_IDS))
def test_inserting_invisible_characters_never_changes_a_verdict(data, reason, ruleset_id):
    grounds = data.draw(st.sampled_from([(), ("behaviour",)]))
    disguised = reason
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(disguised)))
        disguised = disguised[:at] + data.draw(st.sampled_from(invisibles())) + disguised[at:]
    assert verdicts(disguised, ruleset_id, grounds) == verdicts(reason, ruleset_id, grounds)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), reason=st.sampled_from(REASONS), ruleset_id=st.sampled_from(RULESET_IDS))
def test_replacing_letters_by_look_alikes_never_changes_a_verdict(data, reason, ruleset_id):
    grounds = data.draw(st.sampled_from([(), ("behaviour",)]))
    table = confusables()
    places = [i for i, ch in enumerate(reason) if ch in table]
    chosen = data.draw(st.lists(st.sampled_from(places), min_size=1, max_size=8))
    chars = list(reason)
    for i in chosen:
        chars[i] = data.draw(st.sampled_from(table[reason[i]]))
    disguised = "".join(chars)
    assert verdicts(disguised, ruleset_id, grounds) == verdicts(reason, ruleset_id, grounds)


@settings(max_examples=200, deadline=None)
@given(reason=st.sampled_from(REASONS), ruleset_id=st.sampled_from(RULESET_IDS), upper=st.booleans())
def test_case_never_changes_a_verdict(reason, ruleset_id, upper):
    changed = reason.upper() if upper else reason.lower()
    assert verdicts(changed, ruleset_id) == verdicts(reason, ruleset_id)


# Ordinary words of French and English reasons, with and without their accents.
ORDINARY_TEXT = (
    "Noël café élève garçon forêt hôtel façade déjà où crème brûlée naïve Zoë Chloé résumé rôle "
    "très près après fenêtre théâtre église bibliothèque voilà sœur cœur mûr août ambiguë aîné "
    "piñata jalapeño São Zürich Müller Ångström Bjørn Łódź Dvořák Curaçao Montréal Québec "
    "the man was near the car looking into windows at night with a bag"
)
ORDINARY = tuple(ORDINARY_TEXT.split())


@settings(max_examples=300, deadline=None)
@given(
    sentence=st.lists(st.sampled_from(ORDINARY), min_size=1, max_size=12).map(" ".join),
    ruleset_id=st.sampled_from(RULESET_IDS),
)
def test_ordinary_accented_reasons_are_not_mangled_into_a_race_or_forbidden_phrase(sentence, ruleset_id):
    ruleset = get_ruleset(ruleset_id)
    assert not mentions_any(sentence, ruleset.param("race_terms"))
    assert not mentions_any(sentence, ruleset.param("forbidden_reason_phrases"))
    bare = "".join(c for c in unicodedata.normalize("NFKD", sentence) if not unicodedata.combining(c))
    assert len(words(sentence)) == len(words(bare))


def test_the_folding_keeps_race_words_of_every_shipped_list_findable():
    for ruleset_id in RULESET_IDS:
        ruleset = get_ruleset(ruleset_id)
        for term in ruleset.param("race_terms"):
            disguised = term.replace("a", CYRILLIC_A).replace("e", "\u0435").replace("o", "\u043e")
            facts = replace(compliant_facts(ruleset_id), reason=f"{disguised} man", reason_grounds=())
            finding = CHECKS["RACE-NOT-A-REASON"](facts, ruleset)[0]
            assert finding.refuses, (ruleset_id, term)


# Any text around a race word or a forbidden phrase, not only the sentences above.
ANY_REASON = st.builds(
    lambda before, term, after: f"{before} {term} {after}",
    st.text(max_size=40),
    st.sampled_from(["Black", "high crime area", "walked away", "noire", "Asian", "door handles"]),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), reason=ANY_REASON, ruleset_id=st.sampled_from(RULESET_IDS))
def test_any_text_keeps_its_verdicts_under_invisible_characters_and_look_alikes(data, reason, ruleset_id):
    table = confusables()
    disguised = "".join(
        data.draw(st.sampled_from(table[ch])) if ch in table and data.draw(st.booleans()) else ch
        for ch in reason
    )
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(disguised)))
        disguised = disguised[:at] + data.draw(st.sampled_from(invisibles())) + disguised[at:]
    assert verdicts(disguised, ruleset_id) == verdicts(reason, ruleset_id)
