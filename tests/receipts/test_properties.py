"""Properties of receipt codes under any secret key and any way a person might type them back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fairengage.receipts.codes import (
    ALPHABET,
    CODE_LENGTH,
    format_code,
    issue_code,
    normalize_code,
    verify_code,
)

secrets_ = st.binary(min_size=1, max_size=64)
canonical = st.text(alphabet=ALPHABET, min_size=CODE_LENGTH, max_size=CODE_LENGTH)
# What a person may type for each character: either case, and the look-alike letters Crockford reads
# as digits (I and L for 1, O for 0).
LOOK_ALIKES = {"1": "1IiLl", "0": "0Oo"}
SEPARATORS = ["-", " ", "\u2010", "\u2013", "\u2014", "\u2212", "\t"]


# How one character is typed (which of its spellings) and what follows it; drawn apart from the code,
# which comes from the system's random source, so that each example draws the same way.
keystrokes = st.lists(
    st.tuples(st.integers(min_value=0, max_value=4), st.sampled_from(["", "", "", *SEPARATORS])),
    min_size=CODE_LENGTH,
    max_size=CODE_LENGTH,
)


def typed(code: str, strokes: list[tuple[int, str]]) -> str:
    """`code` as someone might type it: case, look-alikes and separators as `strokes` say."""
    out = []
    for char, (spelling, separator) in zip(code.replace("-", ""), strokes, strict=True):
        choices = LOOK_ALIKES.get(char, char + char.lower())
        out.append(choices[spelling % len(choices)] + separator)
    return "".join(out)


@settings(max_examples=200)
@given(secret=secrets_)
def test_an_issued_code_verifies_under_its_key_to_its_canonical_form(secret):
    code = issue_code(secret)
    assert verify_code(code, secret) == code.replace("-", "")
    assert format_code(code.replace("-", "")) == code


@settings(max_examples=200)
@given(strokes=keystrokes, secret=secrets_)
def test_any_way_of_typing_an_issued_code_verifies_to_the_same_code(strokes, secret):
    code = issue_code(secret)
    variant = typed(code, strokes)
    assert normalize_code(variant) == code.replace("-", "")
    assert verify_code(variant, secret) == code.replace("-", "")


@settings(max_examples=200)
@given(secret=secrets_, other=secrets_)
def test_a_code_does_not_verify_under_another_key(secret, other):
    code = issue_code(secret)
    # The 30-bit signature: another key accepts the code by chance once in about a billion keys.
    assert verify_code(code, other) is None or other == secret


@settings(max_examples=300)
@given(position=st.integers(0, CODE_LENGTH - 1), shift=st.integers(1, len(ALPHABET) - 1), secret=secrets_)
def test_changing_any_one_character_makes_a_code_fail(position, shift, secret):
    code = issue_code(secret).replace("-", "")
    # Any other character of the alphabet: `shift` steps on from the original, wrapping round.
    replacement = ALPHABET[(ALPHABET.index(code[position]) + shift) % len(ALPHABET)]
    changed = code[:position] + replacement + code[position + 1 :]
    assert verify_code(changed, secret) is None


@settings(max_examples=300)
@given(text=st.text(max_size=80), secret=secrets_)
def test_any_text_is_read_without_error_and_only_a_signed_code_verifies(text, secret):
    canonical_form = normalize_code(text)
    assert canonical_form is None or (
        len(canonical_form) == CODE_LENGTH and set(canonical_form) <= set(ALPHABET)
    )
    verified = verify_code(text, secret)
    # Verification is normalisation plus a signature check, never a looser reading.
    assert verified is None or verified == canonical_form


@settings(max_examples=300)
@given(code=canonical)
def test_formatting_and_reading_back_are_inverse(code):
    shown = format_code(code)
    assert len(shown) == CODE_LENGTH + 2 and shown.count("-") == 2
    assert normalize_code(shown) == code
    assert normalize_code(shown.lower()) == code


@settings(max_examples=200)
@given(text=st.text(alphabet=ALPHABET + ALPHABET.lower() + "iloILO- ", max_size=30))
def test_reading_ignores_case_and_separators(text):
    assert normalize_code(text) == normalize_code(text.upper()) == normalize_code(text.lower())
    assert normalize_code(text) == normalize_code(text.replace("-", "").replace(" ", ""))


@settings(max_examples=100)
@given(text=st.text(min_size=65, max_size=400))
def test_text_much_longer_than_a_code_is_not_read(text):
    assert normalize_code(text) is None
