"""Plain-language readings: the figures they quote, and what they say a figure does not show."""

from __future__ import annotations

import re

import pytest

from fairengage.reports.reading import Reader, ratio_digits

reader = Reader("en", threshold=10)


def numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def test_disproportionality_quotes_index_and_interval():
    row = {
        "area": "ALL",
        "group": "Black",
        "index": 2.4312,
        "ci_low": 2.3049,
        "ci_high": 2.5551,
        "notable": True,
    }
    text = reader.disproportionality(row)
    assert text.startswith(
        "Across the city, Black people were 2.4 times as likely to be engaged as their share of the "
        "population would suggest (95% CI 2.3–2.6)."
    )
    assert "notable" in text and "does not by itself show bias" in text


def test_not_notable_is_said_plainly_and_why():
    chance = {"area": "D11", "group": "Latino", "index": 1.3, "ci_low": 0.8, "ci_high": 2.1, "notable": False}
    assert "It is not notable: the interval includes 1" in reader.disproportionality(chance)
    assert reader.disproportionality(chance).startswith("In division D11, Latino people")
    small = {"area": "ALL", "group": "White", "index": 1.2, "ci_low": 1.1, "ci_high": 1.3, "notable": False}
    assert "below the threshold" in reader.disproportionality(small)


def test_digits_grow_when_rounding_would_hide_the_side_of_one():
    assert ratio_digits(2.43, 2.3, 2.55) == 1
    # 1.04 would print as 1.0 and hide that the interval stops short of 1.
    assert ratio_digits(1.8, 1.04, 2.2) == 2
    row = {
        "area": "ALL",
        "group": "Black",
        "measure": "searched",
        "index": 1.8,
        "rate": 0.06,
        "reference_rate": 0.0333,
        "ci_low": 1.04,
        "ci_high": 2.2,
        "notable": False,
    }
    text = reader.disparity(row)
    assert "Black people were searched 1.80 times as often as White people" in text
    assert "95% CI 1.04–2.20" in text and "6.0% against 3.3%" in text


@pytest.mark.parametrize("method", ["disproportionality", "disparity", "outcome_test"])
def test_suppressed_rows_give_no_figure(method):
    row = {
        "area": "D12",
        "group": "Indigenous",
        "measure": "arrest",
        "suppressed": True,
        "index": None,
        "count": None,
        "hit_rate": None,
    }
    text = getattr(reader, method)(row)
    assert "withheld" in text and "fewer than 10" in text
    assert numbers(text.replace("D12", "")) == [10]
    assert reader.count(None) == "withheld"


def test_withheld_index_is_not_called_impossible():
    row = {"area": "ALL", "group": "Black", "count": 16, "index": None, "withheld": True, "suppressed": False}
    text = reader.disproportionality(row)
    assert "withheld" in text and "no index can be given" not in text


def test_veil_of_darkness_says_what_it_does_not_show():
    below = reader.veil_of_darkness(
        {"group": "Black", "odds_ratio": 0.52, "ci_low": 0.45, "ci_high": 0.6, "n": 3000}
    )
    assert "0.52 times as high in the dark" in below and "(95% CI 0.45–0.60; 3,000 engagements)" in below
    assert "does not show which engagements" in below
    covers = reader.veil_of_darkness(
        {"group": "Black", "odds_ratio": 0.97, "ci_low": 0.8, "ci_high": 1.2, "n": 900}
    )
    assert "no clear difference" in covers and "not proof that race played no part" in covers
    assert "gives no estimate" in reader.veil_of_darkness(None)
    # The reason in plain words, never "not installed" (issue 13).
    few = reader.veil_of_darkness({"group": "Black", "odds_ratio": None, "reason_code": "unstable"})
    assert "too few engagements of some kind" in few and "install" not in few


def test_robust_veil_rows_read_each_group_and_window_or_say_why_not():
    row = {"group": "Black", "reference": "White", "specification": "dst", "odds_ratio": 3.1313,
           "ci_low": 1.0388, "ci_high": 9.4391, "n": 613}  # fmt: skip
    text = reader.veil_group(row)
    assert text.startswith("Black against White people, near the clock changes:")
    assert "3.13 times as high in the dark (95% CI 1.04–9.44; 613 engagements)" in text
    unfitted = {"group": "Another race", "reference": "White", "specification": "inter-twilight",
                "odds_ratio": None, "reason_code": "few_cases"}  # fmt: skip
    none = reader.veil_group(unfitted)
    assert "between sunset and dark: no estimate, because fewer than 10 engagements" in none


def test_robust_veil_divisions_name_only_those_left_after_the_false_discovery_control():
    rows = [
        {"area": "D12", "group": "Black", "odds_ratio": 0.41, "notable": True},
        {"area": "D14", "group": "Black", "odds_ratio": 0.58, "notable": False},
        {"area": "D51", "group": "Latino", "odds_ratio": None, "notable": False},
    ]
    named = reader.veil_divisions(rows)
    assert "D12, Black: 0.41" in named and "D14" not in named and "places to look" in named
    quiet = reader.veil_divisions([{**r, "notable": False} for r in rows])
    assert "(2 estimates), none stands out" in quiet


def test_robust_veil_sensitivity_gives_each_groups_range_over_the_curves():
    rows = [{"spline_df": df, "group": "Black", "odds_ratio": value}
            for df, value in ((3, 1.19), (4, 1.26), (6, 1.22), (8, None))]  # fmt: skip
    rows.append({"spline_df": 4, "group": "Latino", "odds_ratio": 1.16})  # one estimate: no range
    text = reader.veil_sensitivity(rows)
    assert text is not None and "from 3 to 8 degrees of freedom" in text
    assert "Black 1.19 to 1.26" in text and "Latino" not in text
    assert reader.veil_sensitivity(rows[-1:]) is None


def test_an_outcome_difference_says_when_divisions_cannot_be_compared():
    row = {"area": "ALL", "group": "East/Southeast Asian", "reference": "White", "difference": -0.0123,
           "ci_low": -0.0188, "ci_high": 0.2652, "ratio": 0.0}  # fmt: skip
    stratified = {"group": "East/Southeast Asian", "strata": 11, "difference": None, "enough": False}
    text = reader.outcome_difference(row, stratified)
    assert "−1.2 percentage points (95% CI −1.9 to +26.5)" in text
    assert "too few searches, or too few expected finds" in text and "Mantel" not in text
    assert "too few" not in reader.outcome_difference(row, None)


def test_policy_change_reads_the_step_and_its_interval():
    row = {"date": "2015-06-18", "group": "Black", "level_change": 0.044, "level_ci_low": -0.06,
           "level_ci_high": 0.148, "slope_change": -0.0106}  # fmt: skip
    text = reader.policy_change(row)
    assert "stepped by 4.4 percentage points (95% CI -6.0 to 14.8)" in text and "could be chance" in text
    found = reader.policy_change(row | {"level_ci_low": 0.01})
    assert "larger than chance" in found and "does not show that the rule change caused it" in found
    assert "(95% CI 1.0–14.8)" in found  # no sign to confuse with the dash
    assert "cannot be tested" in reader.policy_change({"date": "2015-06-18", "group": "Black"})


def test_outcome_test_and_compliance_quote_their_counts():
    hit = {
        "area": "ALL",
        "group": "Black",
        "searches": 100,
        "hits": 28,
        "hit_rate": 0.28,
        "ci_low": 0.2,
        "ci_high": 0.37,
    }
    assert (
        "found contraband 28.0% of the time (95% CI 20.0%–37.0%; 28 of 100 searches)"
        in reader.outcome_test(hit)
    )
    assert "not proof" in reader.outcome_test_meaning()
    duty = {"area": "ALL", "measure": "informed", "count": 4800, "total": 5000, "rate": 0.96}
    assert reader.compliance(duty) == (
        "Across the city, told they need not answer: 4,800 of 5,000 engagements (96.0%)."
    )


def test_officer_reading_counts_tested_and_flagged():
    rows = [{"officer_key": "a", "flagged": True}, {"officer_key": "b", "flagged": False}]
    text = reader.officers(rows, "Black", 50)
    assert text.startswith("2 officers with at least 50 engagements") and "; 1 engaged Black people" in text
    assert "not a finding of bias" in text


@pytest.mark.parametrize("method", ["disproportionality", "disparity", "outcome_test"])
def test_a_hidden_row_says_why_in_words_true_of_it(method):
    base = {"area": "D31", "group": "White", "measure": "searched", "suppressed": True}
    small = getattr(reader, method)({**base, "suppressed_reason": "small"})
    protects = getattr(reader, method)({**base, "suppressed_reason": "protects"})
    assert "fewer than 10" in small and "protect" not in small, small
    # A figure hidden to protect another is at least the threshold: it is never called "fewer than".
    assert "withheld to protect a smaller figure" in protects
    assert "fewer than 10 engagements" not in protects
    for text in (small, protects):
        assert "—" not in text and "None" not in text


def test_a_hidden_compliance_row_keeps_its_published_total():
    row = {"area": "D31", "measure": "compliant", "count": None, "total": 137, "rate": None}
    row["suppressed"] = True
    small = reader.compliance({**row, "suppressed_reason": "small"})
    said = "In division D31, every rule met (or a permitted exception): fewer than 10 of 137 engagements."
    assert small == said
    protects = reader.compliance({**row, "suppressed_reason": "protects"})
    assert "withheld" in protects and "137" in protects and "fewer than" not in protects


def test_every_interval_says_to_when_a_bound_is_negative():
    """One rule for the readings, the charts' printed values and the public dashboard: "-6.0–-2.2" reads
    as a subtraction, so an interval with a negative bound says "to"."""
    from fairengage.publishing.dashboard import Formats
    from fairengage.reports.charts import index_chart

    fmt = reader.ratio
    assert reader.interval(-6.0, -2.2, fmt, 1) == "95% CI -6.0 to -2.2"
    assert reader.interval(2.3, 2.5, fmt, 1) == "95% CI 2.3–2.5"
    rows = [{"group": "A", "points": -1.5, "ci_low": -2.0, "ci_high": -1.0, "suppressed": False},
            {"group": "B", "points": 1.5, "ci_low": 1.0, "ci_high": 2.0, "suppressed": False}]  # fmt: skip
    printed = index_chart(rows, title="t", value_key="points", reference=0.0).svg
    assert "-2.00 to -1.00" in printed and "1.00–2.00" in printed
    for lang, word in (("en", " to "), ("fr", " à ")):
        shown = Formats(lang, 10).interval(-0.5, 0.25)
        assert word in shown and "–" not in shown, (lang, shown)
    assert Formats("en", 10).interval(1.2, 2.5) == "1.20–2.50"


# Hartford's city-wide threshold differences from White people (report.json of `fairengage analyze
# --threshold-test` on the Open Policing file, 4 chains of 1,000 draws).
ANOTHER_RACE = {
    "group": "Another race", "reference": "White", "difference": 0.0628, "ci_low": 0.0014, "ci_high": 0.1967,
    "searches": 10, "hits": 0, "ref_searches": 1705, "ref_hits": 21, "enough": False,
}  # fmt: skip


def test_a_threshold_difference_on_too_few_searches_is_not_read_either_way():
    # The interval is clear of 0, but 10 searches with no find say little: the priors set it.
    text = reader.threshold_difference(ANOTHER_RACE)
    assert text.startswith(
        "Too few searches or finds to compare the bar for Another race people (10 searches, 0 finding "
        "contraband) with the bar for White people (1,705, 21)"
    )
    assert "higher" not in text and "lower" not in text
    assert "6.3" not in text and "+0.1 to +19.7 points" in text
    # The same figures on enough searches are read as a higher bar.
    enough = {**ANOTHER_RACE, "searches": 1000, "hits": 20, "enough": True}
    assert reader.threshold_difference(enough).startswith(
        "The bar for searching Another race people was higher than for White people, by 6.3 points"
    )
    # A report.json from before rows carried `enough` reads as it did.
    older = {
        k: v
        for k, v in ANOTHER_RACE.items()
        if k not in ("searches", "hits", "ref_searches", "ref_hits", "enough")
    }
    assert "was higher than" in reader.threshold_difference(older)


@pytest.mark.parametrize(
    ("diagnostics", "provisional"),
    [
        (
            {
                "chains": 4,
                "samples": 1000,
                "max_r_hat": 1.004,
                "divergences": 0,
                "checks_outside_interval": 2,
            },
            False,
        ),
        (
            {
                "chains": 4,
                "samples": 1000,
                "max_r_hat": 1.007,
                "divergences": 27,
                "checks_outside_interval": 1,
            },
            True,
        ),
        (
            {"chains": 4, "samples": 1000, "max_r_hat": 1.02, "divergences": 0, "checks_outside_interval": 0},
            True,
        ),
        (
            {"chains": 1, "samples": 500, "max_r_hat": None, "divergences": 0, "checks_outside_interval": 0},
            True,
        ),
        # More than 1 check in 20 outside its range (5 of 86): the model does not describe the data.
        (
            {
                "chains": 4,
                "samples": 1000,
                "max_r_hat": 1.001,
                "divergences": 0,
                "checks_outside_interval": 5,
            },
            True,
        ),
    ],
)
def test_the_threshold_fit_is_described_and_flagged_provisional_when_it_should_not_be_quoted(
    diagnostics, provisional
):
    text = reader.threshold_fit(diagnostics, 86)
    chains, samples = diagnostics["chains"], diagnostics["samples"]
    assert text.startswith(f"The model was fitted with {chains} chains of {samples:,} draws each.")
    assert f"{diagnostics['divergences']} divergent transitions" in text
    assert f"{diagnostics['checks_outside_interval']} of 86 model checks" in text
    assert ("provisional" in text) is provisional
    if diagnostics["max_r_hat"] is None:
        assert "not computed (one chain)" in text


def test_the_threshold_readings_are_french_in_a_french_report():
    french = Reader("fr", threshold=10)
    assert french.threshold_difference(ANOTHER_RACE).startswith(
        "Trop peu de fouilles ou de découvertes pour comparer le seuil des personnes Another race"
    )
    text = french.threshold_fit({"chains": 4, "samples": 1000, "max_r_hat": 1.007, "divergences": 27}, 86)
    assert "1,007" in text and "provisoires" in text


def test_a_threshold_on_too_few_searches_says_the_model_sets_it():
    row = {"area": "ALL", "group": "Another race", "threshold": 0.474, "ci_low": 0.066, "ci_high": 0.919,
           "searches": 0, "hits": 0, "stops": 7}  # fmt: skip
    text = reader.threshold_test(row, few=True)
    assert text.startswith(
        "Across the city, Another race people were searched too few times (0 searches of 7"
    )
    assert "47.4%" in text and "comes mostly from the model's assumptions" in text
    assert reader.threshold_test(row).startswith("Across the city, the model puts the bar for searching")
