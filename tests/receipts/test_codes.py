"""Receipt codes: signed, typable, and refusing every single-character slip."""

import re

import pytest
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

SECRET = b"test-secret-key-for-receipts"
OTHER_SECRET = b"another-service-secret-key"
FORMATTED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture(scope="module")
def codes() -> list[str]:
    return [issue_code(SECRET) for _ in range(5)]


def test_issued_code_is_formatted_in_three_groups_of_crockford_characters(codes):
    for code in codes:
        assert FORMATTED.match(code), code


def test_issued_code_verifies_and_returns_canonical_form(codes):
    for code in codes:
        assert verify_code(code, SECRET) == code.replace("-", "")


def test_format_and_normalize_round_trip(codes):
    for code in codes:
        canonical = normalize_code(code)
        assert canonical is not None and len(canonical) == CODE_LENGTH
        assert format_code(canonical) == code


def test_every_single_character_substitution_fails(codes):
    for code in codes:
        canonical = normalize_code(code)
        for position in range(CODE_LENGTH):
            for char in ALPHABET:
                if char == canonical[position]:
                    continue
                forged = canonical[:position] + char + canonical[position + 1 :]
                assert verify_code(forged, SECRET) is None, (code, position, char)


def test_adjacent_transposition_fails(codes):
    checked = 0
    for code in codes:
        canonical = normalize_code(code)
        for position in range(CODE_LENGTH - 1):
            first, second = canonical[position], canonical[position + 1]
            if first == second:
                continue  # swapping equal characters leaves the same code
            swapped = canonical[:position] + second + first + canonical[position + 2 :]
            assert verify_code(swapped, SECRET) is None, (code, position)
            checked += 1
    assert checked > 0


def test_code_signed_with_another_key_fails(codes):
    for code in codes:
        assert verify_code(code, OTHER_SECRET) is None
    assert verify_code(issue_code(OTHER_SECRET), SECRET) is None


def test_typed_variants_verify(codes):
    for code in codes:
        canonical = code.replace("-", "")
        variants = [
            code.lower(),
            canonical,
            " ".join([canonical[:4], canonical[4:8], canonical[8:]]),
            f"  {code}\n",
            code.replace("0", "O").replace("1", "l"),
            code.replace("0", "o").replace("1", "I"),
            code.replace("-", "\u2013"),
        ]
        for typed in variants:
            assert verify_code(typed, SECRET) == canonical, typed


def test_normalize_reads_crockford_aliases():
    assert normalize_code("oOiI-lL01-abcd") == "00111101ABCD"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ABCD-EFGH-JKM",  # too short
        "ABCD-EFGH-JKMNP",  # too long
        "ABCD-EFGH-JKMU",  # U is not a Crockford character
        "ABCD-EFGH-JK*N",
        "ABCD-EFGH-JKM\u0131",  # dotless i upper-cases to I; still not ASCII
        "ABCD-EFGH-JKM\uff21",  # full-width A
        "A" * 10_000,
    ],
)
def test_normalize_rejects_what_cannot_be_a_code(text):
    assert normalize_code(text) is None
    assert verify_code(text, SECRET) is None


def test_format_code_refuses_non_canonical_text():
    with pytest.raises(ValueError):
        format_code("abcd-efgh-jkmn")
    with pytest.raises(ValueError):
        format_code("ABCDEFGHJKM")


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        issue_code(b"")
    with pytest.raises(ValueError):
        verify_code("ABCD-EFGH-JKMN", b"")


def test_ten_thousand_issued_codes_are_distinct_when_taken_ones_are_redrawn():
    issued: set[str] = set()
    for _ in range(10_000):
        issued.add(issue_code(SECRET, taken=issued.__contains__))
    assert len(issued) == 10_000


def test_ten_thousand_random_draws_collide_no_more_than_the_birthday_bound_allows():
    # 30 random bits: about 0.047 expected collisions in 10,000; more than 3 has odds below 1e-6.
    draws = [issue_code(SECRET) for _ in range(10_000)]
    assert len(draws) - len(set(draws)) <= 3


def test_issue_code_gives_up_when_every_code_is_taken():
    with pytest.raises(RuntimeError):
        issue_code(SECRET, taken=lambda code: True)


@settings(max_examples=500)
@given(st.text(max_size=40))
def test_random_text_never_raises_and_never_verifies(text):
    assert verify_code(text, SECRET) is None


@settings(max_examples=500)
@given(st.text(alphabet=ALPHABET + "-ilo ", min_size=12, max_size=16))
def test_random_code_shaped_text_never_verifies(text):
    assert verify_code(text, SECRET) is None
