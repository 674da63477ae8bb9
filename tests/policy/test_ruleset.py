"""The shipped rule-set files, the loader's validation, and the choice of rule set by date."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from fairengage.policy import NoRuleSetInForce, PolicyError, get_ruleset, load_rulesets, ruleset_in_force
from fairengage.policy.ruleset import LIST_NAMES, PARAMETER_TYPES, RULESET_DIR, RuleSetFileError

# The rule catalogue (docs/rule-sets.md) with the kind each rule has there; ATTEMPT-COUNTS, RECEIPT-CONTENT
# and RECORD-CONTENTS, which the original catalogue left unmarked, take the kind their check gives them.
CATALOGUE = {
    "SCOPE-PURPOSE": "refuse",
    "SCOPE-EXCLUDED": "refuse",
    "ATTEMPT-COUNTS": "flag",
    "REASON-REQUIRED": "refuse",
    "RACE-NOT-A-REASON": "refuse",
    "FORBIDDEN-REASONS": "refuse",
    "NOT-ARBITRARY": "flag",
    "INFORM-RIGHT": "refuse",
    "INFORM-WHY": "refuse",
    "RECEIPT-OFFER": "refuse",
    "RECEIPT-CONTENT": "refuse",
    "RECORD-CONTENTS": "refuse",
    "REVIEW-30D": "lifecycle",
    "RESTRICT-NONCOMPLIANT": "lifecycle",
    "RESTRICT-5Y": "lifecycle",
    "LEGACY-DATA": "lifecycle",
    "NO-QUOTAS": "report",
    "TRAINING-36M": "refuse",
    "ANNUAL-REPORT": "report",
    "DETAILED-REVIEW": "report",
    "SMALL-CELLS": "report",
    "NOTABLE": "report",
}
RULES_DOC = Path(__file__).resolve().parents[2] / "docs" / "rule-sets.md"
TORONTO_EDT = timezone(timedelta(hours=-4))


def test_the_catalogue_here_matches_the_rule_sets_page():
    text = RULES_DOC.read_text(encoding="utf-8")
    # The rule table: one row per rule, its code then its kind.
    table = dict(re.findall(r"^\| `([A-Z][A-Z0-9-]{2,})` \| (\w+)", text, flags=re.MULTILINE))
    assert table == CATALOGUE
    # The catalogue: each rule under its heading, with its kind in brackets.
    catalogue = text[text.index("## The catalogue") :]
    marked = dict(re.findall(r"^- `([A-Z][A-Z0-9-]{2,})` \((\w+)", catalogue, flags=re.MULTILINE))
    assert marked == CATALOGUE


def test_three_rule_sets_ship_in_date_order():
    assert [r.id for r in load_rulesets()] == ["tpsb-2015", "on-reg-58-16", "on-reg-400-23"]


@pytest.mark.parametrize(
    ("ruleset_id", "start", "end"),
    [
        ("tpsb-2015", date(2015, 6, 18), date(2016, 12, 31)),
        ("on-reg-58-16", date(2017, 1, 1), date(2024, 3, 31)),
        ("on-reg-400-23", date(2024, 4, 1), None),
    ],
)
def test_effective_dates(ruleset_id, start, end):
    ruleset = get_ruleset(ruleset_id)
    assert (ruleset.effective_from, ruleset.effective_to) == (start, end)
    # A file's version grows with each change to it (docs/rule-sets.md): a whole number, not a fixed one.
    assert ruleset.version.isdigit() and int(ruleset.version) >= 1


def test_every_catalogue_rule_is_in_every_file_with_its_kind_source_and_messages(ruleset):
    assert {r.code for r in ruleset.rules} == set(CATALOGUE)
    for code, kind in CATALOGUE.items():
        rule = ruleset.rule(code)
        assert rule.kind == kind, code
        assert rule.source.strip() and rule.message_en.strip() and rule.message_fr.strip(), code
        assert rule.message_en != rule.message_fr, code


@pytest.mark.parametrize(
    ("ruleset_id", "cites"),
    [("tpsb-2015", "Toronto Police Services Board"), ("on-reg-58-16", "58/16"), ("on-reg-400-23", "400/23")],
)
def test_each_file_cites_its_own_document(ruleset_id, cites):
    ruleset = get_ruleset(ruleset_id)
    assert cites in ruleset.source
    entry_rules = [r for r in ruleset.rules if r.entry_time]
    assert all(cites in r.source for r in entry_rules)


def test_400_23_cites_58_16_sections_plus_one():
    def sections(source):
        return [int(n) for n in re.findall(r"s\.(\d+)", source)]

    old, new = get_ruleset("on-reg-58-16"), get_ruleset("on-reg-400-23")
    compared = 0
    for rule in old.rules:
        before, after = sections(rule.source), sections(new.rule(rule.code).source)
        assert after == [n + 1 for n in before], rule.code
        compared += bool(before)
    assert compared >= 15


def test_lists_and_their_codes(ruleset):
    assert ruleset.codes("perceived_race") == (
        "Black",
        "East/Southeast Asian",
        "Indigenous",
        "Latino",
        "Middle Eastern",
        "South Asian",
        "White",
        "Another race",
        "Unknown",
    )
    assert ruleset.codes("perceived_gender") == ("man", "woman", "gender diverse", "unknown")
    assert ruleset.codes("outcomes") == ("none", "caution", "ticket", "arrest", "referral")
    assert len(ruleset.codes("purposes")) == 3
    assert set(ruleset.codes("inform_exceptions")) == {
        "safety",
        "ongoing_investigation",
        "confidential_informant",
        "identity_contrary_to_law",
    }
    assert set(ruleset.codes("receipt_exceptions")) == {"safety", "respond_to_other_matter"}
    for name in LIST_NAMES:
        for item in ruleset.items(name):
            assert item.label_en and item.label_fr


def test_labels_in_both_languages(ruleset):
    assert ruleset.label("perceived_race", "Black", "fr") == "Noir"
    assert ruleset.label("perceived_race", "Black", "en") == "Black"
    assert ruleset.label("purposes", "no-such-code") == "no-such-code"


def test_parameters_carry_the_stated_defaults(ruleset):
    expected = {
        "review_days": 30,
        "restriction_years": 5,
        "training_months": 36,
        "destruction_years": 0,
        "suppression_threshold": 10,
        "notable_disproportionality": 1.5,
        "notable_disparity": 1.5,
        "min_reason_words": 8,
    }
    assert {k: ruleset.param(k) for k in expected} == expected
    assert ruleset.param("restricted_read_purposes") == (
        "ongoing_investigation",
        "legal_proceeding",
        "legal_requirement",
    )
    assert "black" in ruleset.param("race_terms")
    assert all(t == t.lower() for t in ruleset.param("race_terms"))
    assert {"refused to answer", "walked away", "high crime area", "high-crime area"} <= set(
        ruleset.param("forbidden_reason_phrases")
    )
    with pytest.raises(PolicyError, match="no parameter"):
        ruleset.param("nothing_by_this_name")


def test_messages_state_the_parameter_they_depend_on(ruleset):
    assert f"{ruleset.param('review_days')} days" in ruleset.rule("REVIEW-30D").message_en
    assert f"{ruleset.param('training_months')} months" in ruleset.rule("TRAINING-36M").message_en
    assert "not a provincial standard" in ruleset.rule("NOTABLE").message_en
    assert "{" not in json.dumps([r.message_en + r.message_fr for r in ruleset.rules])


def test_public_dict_is_json_and_holds_everything(ruleset):
    published = json.loads(json.dumps(ruleset.public_dict()))
    assert published["id"] == ruleset.id
    assert published["effective_from"] == ruleset.effective_from.isoformat()
    for name in LIST_NAMES:
        assert [i["code"] for i in published[name]] == list(ruleset.codes(name))
    assert {g["code"] for g in published["reason_grounds"] if g["forbidden"]} == set(
        ruleset.forbidden_codes()
    )
    assert published["complaints_body"]["name_fr"]
    assert set(published["own_record_request"]) == {"en", "fr"}
    assert set(PARAMETER_TYPES) <= set(published["parameters"])
    assert {r["code"] for r in published["rules"]} == set(CATALOGUE)
    assert all(r["source"] and r["message_en"] and r["message_fr"] for r in published["rules"])


# --- choice by date -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "ruleset_id"),
    [
        (date(2015, 6, 18), "tpsb-2015"),
        (date(2016, 12, 31), "tpsb-2015"),
        (date(2017, 1, 1), "on-reg-58-16"),
        (date(2024, 3, 31), "on-reg-58-16"),
        (date(2024, 4, 1), "on-reg-400-23"),
        (date(2099, 1, 1), "on-reg-400-23"),
    ],
)
def test_ruleset_in_force_at_each_boundary(day, ruleset_id):
    assert ruleset_in_force(day).id == ruleset_id


def test_no_ruleset_before_the_first():
    with pytest.raises(NoRuleSetInForce, match="2015-06-17"):
        ruleset_in_force(date(2015, 6, 17))


def test_a_datetime_counts_by_its_own_date():
    assert ruleset_in_force(datetime(2024, 3, 31, 23, 30, tzinfo=TORONTO_EDT)).id == "on-reg-58-16"


def test_get_ruleset_by_unknown_id():
    with pytest.raises(PolicyError, match="no-such-set"):
        get_ruleset("no-such-set")
    with pytest.raises(LookupError):
        get_ruleset("no-such-set")


def test_loading_is_cached():
    assert load_rulesets()[0] is load_rulesets(RULESET_DIR)[0]


# --- the loader rejects malformed files -----------------------------------------------------------------


def _copy_of(name: str) -> str:
    return (RULESET_DIR / f"{name}.toml").read_text(encoding="utf-8")


def _write(directory: Path, name: str, text: str) -> None:
    (directory / f"{name}.toml").write_text(text, encoding="utf-8")


def _first_rule(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda t: _first_rule(t, 'kind = "refuse"', 'kind = "warn"'), "unknown kind"),
        (lambda t: re.sub(r'\nmessage_fr = "[^"]*"', "", t, count=1), "message_fr"),
        (lambda t: _first_rule(t, 'code = "SCOPE-PURPOSE"', 'code = "NO-SUCH-CHECK"'), "needs a check"),
        (lambda t: _first_rule(t, "effective_to = 2024-03-31", "effective_to = 2016-01-01"), "effective_to"),
        (lambda t: _first_rule(t, "review_days = 30", 'review_days = "thirty"'), "review_days"),
        (lambda t: _first_rule(t, "min_reason_words = 8", ""), "min_reason_words"),
        (lambda t: _first_rule(t, "{review_days}", "{review_dayz}"), "unknown parameter"),
        (lambda t: _first_rule(t, "[[purposes]]", "[[purpose]]"), "unknown key"),
        (lambda t: _first_rule(t, 'exceptions = "inform_exceptions"', ""), "exception grounds"),
        (lambda t: t + "\nnot = valid = toml\n", "not valid TOML"),
    ],
)
def test_a_malformed_file_is_rejected_naming_the_file(tmp_path, mangle, problem):
    _write(tmp_path, "on-reg-58-16", mangle(_copy_of("on-reg-58-16")))
    with pytest.raises(RuleSetFileError) as caught:
        load_rulesets(tmp_path)
    assert "on-reg-58-16.toml" in str(caught.value)
    assert problem in str(caught.value)


def test_overlapping_dates_are_rejected_naming_the_files(tmp_path):
    _write(tmp_path, "on-reg-58-16", _copy_of("on-reg-58-16"))
    overlapping = _first_rule(
        _copy_of("on-reg-400-23"), "effective_from = 2024-04-01", "effective_from = 2024-03-01"
    )
    _write(tmp_path, "on-reg-400-23", overlapping)
    with pytest.raises(RuleSetFileError, match=r"on-reg-400-23\.toml.*overlap.*on-reg-58-16\.toml"):
        load_rulesets(tmp_path)


def test_an_id_that_differs_from_the_file_name_is_rejected(tmp_path):
    _write(tmp_path, "renamed", _copy_of("tpsb-2015"))
    with pytest.raises(RuleSetFileError, match=r"renamed\.toml: id"):
        load_rulesets(tmp_path)


def test_a_new_jurisdiction_is_a_new_file(tmp_path):
    """Another regime loads from its own directory with its own lists, and the evaluator's checks apply."""
    text = _copy_of("on-reg-400-23").replace('id = "on-reg-400-23"', 'id = "example-2030"')
    text = _first_rule(text, 'code = "high_crime_area"', 'code = "hot_spot"')
    _write(tmp_path, "example-2030", text)
    (example,) = load_rulesets(tmp_path)
    assert example.id == "example-2030"
    assert "hot_spot" in example.forbidden_codes()
    assert ruleset_in_force(date(2031, 1, 1), directory=tmp_path) is example
    with pytest.raises(NoRuleSetInForce):
        ruleset_in_force(date(2020, 1, 1), directory=tmp_path)
