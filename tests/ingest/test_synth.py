"""Synthetic engagements: schema, determinism, realism, and planted effects visible in simple counts.

Effect tests use 200,000 records per run. A share p counted over n rows has standard error
sqrt(p(1 - p) / n); every tolerance below is 4 standard errors of the quantity compared (a chance
failure about once in 16,000 comparisons, and the seeds are fixed, so a pass is repeatable), unless
the test says otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from fairengage import vocabulary
from fairengage.ingest import population
from fairengage.ingest.synth import (
    ANALYTIC_COLUMNS,
    DEFAULT_HIT_RATE,
    DETAIL_COLUMNS,
    GENDERS,
    GROUP_SHARE,
    INFORM_EXCEPTIONS,
    OPTIONAL_COLUMNS,
    OUTCOMES,
    PURPOSES,
    REASON_GROUNDS,
    RECEIPT_EXCEPTIONS,
    SYNTHETIC_OFFICER_KEY,
    PlantedEffects,
    biased_officer_keys,
    daylight_phase,
    generate,
    officers_roster,
    read_table,
    write_table,
)

N = 200_000
SEED = 11
TORONTO = "America/Toronto"


@pytest.fixture(scope="module")
def plain() -> pd.DataFrame:
    """No effect planted."""
    return generate(N, seed=SEED)


@pytest.fixture(scope="module")
def detailed() -> pd.DataFrame:
    return generate(20_000, seed=3, with_details=True)


def known_race(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["perceived_race"] != "Unknown"]


def z_score(observed: float, expected: float, variance: float) -> float:
    return (observed - expected) / np.sqrt(variance)


def local_hour(df: pd.DataFrame) -> pd.Series:
    return df["occurred_at"].dt.tz_convert(TORONTO).dt.hour


# --- schema ------------------------------------------------------------------------------------------


def test_columns_and_dtypes_are_the_analytic_table(plain: pd.DataFrame) -> None:
    # The extract's columns: the analytic table, then the encounter.
    assert list(plain.columns) == [*ANALYTIC_COLUMNS, *OPTIONAL_COLUMNS]
    assert {c: str(t) for c, t in plain.dtypes.items()} == {**ANALYTIC_COLUMNS, **OPTIONAL_COLUMNS}
    assert str(plain["occurred_at"].dt.tz) == "UTC"


def test_categories_use_the_codes(plain: pd.DataFrame) -> None:
    assert set(plain["division"]) == set(population.DIVISION_CODES)
    assert set(plain["perceived_race"]) == set(vocabulary.PERCEIVED_RACES)
    assert set(plain["perceived_gender"]) == set(GENDERS)
    assert set(plain["purpose"]) == set(PURPOSES)
    assert set(plain["outcome"]) == set(OUTCOMES)
    assert plain["engagement_id"].is_unique
    assert plain["officer_key"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_dates_stay_in_the_local_range() -> None:
    df = generate(5000, seed=2, start=date(2024, 3, 1), end=date(2024, 3, 31))
    local_days = df["occurred_at"].dt.tz_convert(TORONTO).dt.date
    assert local_days.min() >= date(2024, 3, 1)
    assert local_days.max() <= date(2024, 3, 31)


@pytest.mark.parametrize("records", [0, 1, 17, 12_345])
def test_record_count_is_exact(records: int) -> None:
    df = generate(records, seed=4, officers=30)
    assert len(df) == records
    assert list(df.columns) == [*ANALYTIC_COLUMNS, *OPTIONAL_COLUMNS]


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    first = generate(30_000, seed=8, effects=PlantedEffects(biased_officers=5))
    again = generate(30_000, seed=8, effects=PlantedEffects(biased_officers=5))
    other = generate(30_000, seed=9, effects=PlantedEffects(biased_officers=5))
    pd.testing.assert_frame_equal(first, again)
    assert not first["perceived_race"].equals(other["perceived_race"])
    assert not first["occurred_at"].equals(other["occurred_at"])


def test_contraband_is_null_unless_searched(plain: pd.DataFrame) -> None:
    assert plain.loc[~plain["searched"], "contraband_found"].isna().all()
    assert plain.loc[plain["searched"], "contraband_found"].notna().all()
    assert plain["contraband_found"].sum() > 0


def test_compliant_follows_the_duties(plain: pd.DataFrame) -> None:
    both_done = plain["informed"] & plain["receipt_offered"]
    assert plain.loc[both_done, "compliant"].all()
    # Without a duty done, a record is compliant only through a permitted exception; both kinds occur.
    missed = plain[~both_done]
    assert 0.3 < missed["compliant"].mean() < 0.7
    assert not plain.loc[~plain["compliant"], ["informed", "receipt_offered"]].all(axis=1).any()


def test_detail_columns_and_compliance_with_exceptions(detailed: pd.DataFrame) -> None:
    assert list(detailed.columns) == [*ANALYTIC_COLUMNS, *OPTIONAL_COLUMNS, *DETAIL_COLUMNS]
    assert {c: str(t) for c, t in detailed.dtypes.items() if c in DETAIL_COLUMNS} == DETAIL_COLUMNS
    excepted_inform = detailed["inform_exception"].notna()
    excepted_receipt = detailed["receipt_exception"].notna()
    assert not (excepted_inform & detailed["informed"]).any()
    assert not (excepted_receipt & detailed["receipt_offered"]).any()
    expected = (detailed["informed"] | excepted_inform) & (detailed["receipt_offered"] | excepted_receipt)
    assert detailed["compliant"].equals(expected)
    assert set(detailed["inform_exception"].dropna()) <= set(INFORM_EXCEPTIONS)
    assert set(detailed["receipt_exception"].dropna()) <= set(RECEIPT_EXCEPTIONS)
    assert excepted_inform.any() and excepted_receipt.any()
    assert not detailed["legacy"].any()


def test_details_do_not_change_the_analytic_columns(detailed: pd.DataFrame) -> None:
    base = generate(20_000, seed=3)
    pd.testing.assert_frame_equal(detailed[[*ANALYTIC_COLUMNS, *OPTIONAL_COLUMNS]], base)


def test_reasons_are_10_to_30_words_with_grounds_and_no_race(detailed: pd.DataFrame) -> None:
    words = detailed["reason"].str.split().str.len()
    assert words.between(10, 30).all()
    race_words = re.compile(r"black|white|brown|asian|indigenous|latino|middle eastern|race|racial", re.I)
    assert not detailed["reason"].str.contains(race_words).any()
    grounds = detailed["reason_grounds"]
    assert grounds.map(len).ge(1).all()
    assert set(g for row in grounds for g in row) <= set(REASON_GROUNDS)


def test_personal_details_only_where_collected(detailed: pd.DataFrame) -> None:
    collected = detailed["identifying_info_collected"]
    for column in ("person_name", "person_date_of_birth", "person_address"):
        assert detailed.loc[collected, column].notna().all(), column
        assert detailed.loc[~collected, column].isna().all(), column
    assert detailed["officer_badge"].str.fullmatch(r"T\d{4}").all()
    assert detailed.loc[collected, "person_address"].str.contains(", Toronto, ON M").all()
    assert detailed["location_description"].dropna().str.contains(" & ").all()
    born = pd.to_datetime(detailed.loc[collected, "person_date_of_birth"].astype(str))
    assert born.dt.year.between(1930, 2015).all()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip(tmp_path, detailed: pd.DataFrame, suffix: str) -> None:
    path = tmp_path / f"engagements{suffix}"
    write_table(detailed, path)
    pd.testing.assert_frame_equal(read_table(path), detailed)


def test_round_trip_csv_keeps_the_outcome_none(tmp_path, plain: pd.DataFrame) -> None:
    path = tmp_path / "analytic.csv"
    write_table(plain.head(2000), path)
    back = read_table(path)
    assert (back["outcome"] == "none").sum() == (plain.head(2000)["outcome"] == "none").sum()


def test_write_table_refuses_other_extensions(tmp_path, plain: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"\.txt"):
        write_table(plain.head(5), tmp_path / "engagements.txt")
    assert not (tmp_path / "engagements.txt").exists()


# --- realism -----------------------------------------------------------------------------------------


def test_volume_varies_by_division_hour_weekday_and_season(plain: pd.DataFrame) -> None:
    by_division = plain["division"].value_counts()
    assert by_division["D51"] > 1.8 * by_division["D53"]  # volumes 1.5 and 0.7
    hours = local_hour(plain).value_counts()
    assert hours[22] > 4 * hours[6]
    local = plain["occurred_at"].dt.tz_convert(TORONTO)
    weekdays = local.dt.day_of_week.value_counts()
    assert weekdays[5] > 1.2 * weekdays[1]  # Saturday over Tuesday
    july = (local.dt.month == 7).sum() / 62  # July 2024 and 2025
    january = (local.dt.month == 1).sum() / 31  # January 2025
    assert july > 1.3 * january


def test_people_and_outcomes_look_like_street_checks(plain: pd.DataFrame) -> None:
    assert plain["perceived_age"].between(15, 65).mean() > 0.9
    assert 0.005 < plain["perceived_age"].isna().mean() < 0.03
    assert 0.75 < (plain["perceived_gender"] == "man").mean() < 0.85
    assert 0.02 < plain["searched"].mean() < 0.06
    assert (plain["outcome"] == "none").mean() > 0.8
    assert 0.94 < plain["informed"].mean() < 0.96
    assert 0.94 < plain["receipt_offered"].mean() < 0.96
    located = plain["lat"].notna()
    assert plain.loc[located, "lat"].between(43.55, 43.88).all()
    assert plain.loc[located, "lon"].between(-79.66, -79.10).all()
    assert plain.loc[~located, "neighbourhood"].isna().all()


def test_roster_badges_keys_and_divisions() -> None:
    roster = officers_roster(400, seed=5)
    badges = [o.badge for o in roster]
    assert len(set(badges)) == 400
    assert all(re.fullmatch(r"T\d{4}", b) for b in badges)
    assert {o.division for o in roster} == set(population.DIVISION_CODES)
    first = roster[0]
    expected = hmac.new(SYNTHETIC_OFFICER_KEY, first.badge.encode(), hashlib.sha256).hexdigest()[:16]
    assert first.officer_key == expected
    assert all(len(o.name.split()) >= 2 for o in roster)
    assert officers_roster(400, seed=5) == roster
    assert officers_roster(400, seed=6) != roster


def test_officers_work_mostly_in_their_division(plain: pd.DataFrame) -> None:
    home = {o.officer_key: o.division for o in officers_roster(400, SEED)}
    at_home = plain["division"] == plain["officer_key"].map(home)
    share = at_home.groupby(plain["officer_key"]).agg(["mean", "size"])
    busy = share[share["size"] >= 100]
    assert len(busy) > 300
    assert (busy["mean"] > 0.75).all()


def test_no_effect_follows_the_division_benchmark(plain: pd.DataFrame) -> None:
    known = known_race(plain)
    shares = population.division_shares()
    counts = known["division"].value_counts()
    for index, group in enumerate(vocabulary.BENCHMARK_GROUPS):
        p = np.array([shares[d][index] for d in counts.index])
        expected = float((counts.to_numpy() * p).sum())
        variance = float((counts.to_numpy() * p * (1 - p)).sum())
        observed = int((known["perceived_race"] == group).sum())
        assert abs(z_score(observed, expected, variance)) < 4, group


# --- planted effects ----------------------------------------------------------------------------------


def black_index(df: pd.DataFrame) -> tuple[float, float, int]:
    """Black share of known-race engagements over its city population share; also the share and n."""
    known = known_race(df)
    share = float((known["perceived_race"] == "Black").mean())
    return share / population.city_shares()["Black"], share, len(known)


def test_over_representation_doubles_the_odds(plain: pd.DataFrame) -> None:
    over = generate(N, seed=SEED, effects=PlantedEffects(over_representation={"Black": 2.0}))
    index_over, p1, n1 = black_index(over)
    index_plain, p0, n0 = black_index(plain)
    ratio = index_over / index_plain
    # A 2x multiplier on the odds turns a division share s into 2s / (1 + s): the share index rises
    # by a little less than 2 (Black residents are about 9% of the city). Expected ratio from the
    # realised division counts:
    shares = population.division_shares()
    black = vocabulary.BENCHMARK_GROUPS.index("Black")
    counts = known_race(over)["division"].value_counts()
    s = np.array([shares[d][black] for d in counts.index])
    expected_over = float((counts.to_numpy() * 2 * s / (1 + s)).sum()) / n1
    counts0 = known_race(plain)["division"].value_counts()
    s0 = np.array([shares[d][black] for d in counts0.index])
    expected_plain = float((counts0.to_numpy() * s0).sum()) / n0
    expected_ratio = expected_over / expected_plain
    # Relative standard error of a ratio of two independent shares (delta method).
    relative_se = np.sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0))
    assert abs(ratio - expected_ratio) < 4 * relative_se * expected_ratio
    assert 1.75 < expected_ratio < 2.0
    # Within each division the odds ratio is the multiplier itself.
    odds = (p1 / (1 - p1)) / (p0 / (1 - p0))
    assert 1.85 < odds < 2.15
    # Other groups lose share, none gains.
    for group in vocabulary.BENCHMARK_GROUPS:
        if group != "Black":
            assert (known_race(over)["perceived_race"] == group).mean() < (
                known_race(plain)["perceived_race"] == group
            ).mean()


def standardised_black(df: pd.DataFrame, keys: list[str]) -> tuple[float, float]:
    """Observed / expected Black count for the given officers, expected from the other officers'
    Black share in the same division; and the z score of the difference."""
    known = known_race(df)
    black = known["perceived_race"] == "Black"
    mine = known["officer_key"].isin(keys)
    peer_share = black[~mine].groupby(known.loc[~mine, "division"]).mean()
    p = known.loc[mine, "division"].map(peer_share).to_numpy()
    observed = int(black[mine].sum())
    expected = float(p.sum())
    return observed / expected, z_score(observed, expected, float((p * (1 - p)).sum()))


def test_biased_officers_engage_more_of_the_group(plain: pd.DataFrame) -> None:
    effects = PlantedEffects(biased_officers=20, biased_multiplier=3.0)
    biased = generate(N, seed=SEED, effects=effects)
    keys = biased_officer_keys(400, SEED, 20)
    assert len(set(keys)) == 20
    assert set(keys) <= set(biased["officer_key"])
    ratio, z = standardised_black(biased, keys)
    assert ratio > 1.8
    assert z > 10
    # The same officers in data without the effect look like their peers.
    ratio0, z0 = standardised_black(plain, keys)
    assert abs(z0) < 4
    assert 0.85 < ratio0 < 1.15


def light_dark_odds(df: pd.DataFrame) -> tuple[float, float]:
    """Odds ratio of Black (vs other known groups) in always-light vs always-dark clock hours, and the
    standard error of its logarithm.

    In Toronto 11:00-14:59 is always between sunrise and sunset, and 23:00-03:59 always after civil
    dusk or before civil dawn, whatever the date: a check that needs no astronomy.
    """
    known = known_race(df)
    hour = local_hour(known)
    black = known["perceived_race"] == "Black"
    light, dark = black[hour.between(11, 14)], black[hour.isin([23, 0, 1, 2, 3])]
    p1, p0 = light.mean(), dark.mean()
    odds_ratio = (p1 / (1 - p1)) / (p0 / (1 - p0))
    se_log = np.sqrt(1 / light.sum() + 1 / (~light).sum() + 1 / dark.sum() + 1 / (~dark).sum())
    return float(odds_ratio), float(se_log)


def test_daylight_effect_raises_the_group_share_in_light(plain: pd.DataFrame) -> None:
    lit = generate(N, seed=SEED, effects=PlantedEffects(daylight_effect=2.0))
    odds_ratio, se_log = light_dark_odds(lit)
    assert abs(np.log(odds_ratio) - np.log(2.0)) < 4 * se_log  # se_log is about 0.025 here
    assert np.log(odds_ratio) / se_log > 10
    odds_ratio0, se_log0 = light_dark_odds(plain)
    assert abs(np.log(odds_ratio0)) < 4 * se_log0


def test_daylight_phase_uses_the_sun() -> None:
    clock = [
        "2024-06-21 19:00",
        "2024-12-21 19:00",
        "2024-12-21 16:55",
        "2024-06-21 03:00",
        "2024-06-21 12:00",
    ]
    moments = pd.Series(pd.to_datetime(clock)).dt.tz_localize(TORONTO)
    phases = daylight_phase(moments.dt.tz_convert("UTC"))
    # June: sunset near 21:03; December: sunset near 16:44, civil dusk near 17:17.
    assert list(phases) == ["light", "dark", "twilight", "dark", "light"]


def test_generated_light_matches_clock_hours(plain: pd.DataFrame) -> None:
    phase = daylight_phase(plain["occurred_at"])
    hour = local_hour(plain).to_numpy()
    assert (phase[(hour >= 11) & (hour <= 14)] == "light").all()
    assert (phase[np.isin(hour, [23, 0, 1, 2, 3])] == "dark").all()
    assert set(phase) == {"light", "twilight", "dark"}


def test_hit_rate_shows_in_contraband_found(plain: pd.DataFrame) -> None:
    low = generate(N, seed=SEED, effects=PlantedEffects(hit_rate={"Black": 0.10, "White": 0.45}))
    for df, expected in ((low, {"Black": 0.10, "White": 0.45}), (plain, {})):
        searched = df[df["searched"]]
        rates = searched.groupby("perceived_race")["contraband_found"].agg(["mean", "size"])
        for group in ("Black", "White", "South Asian", "East/Southeast Asian"):
            rate = expected.get(group, DEFAULT_HIT_RATE)
            se = np.sqrt(rate * (1 - rate) / rates.loc[group, "size"])
            assert abs(rates.loc[group, "mean"] - rate) < 4 * se, (group, rates.loc[group, "mean"])


def test_no_effect_means_no_search_or_outcome_gap(plain: pd.DataFrame) -> None:
    known = known_race(plain)
    overall = known["searched"].mean()
    for group in ("Black", "White", "South Asian"):
        rows = known[known["perceived_race"] == group]
        se = np.sqrt(overall * (1 - overall) / len(rows))
        assert abs(rows["searched"].mean() - overall) < 4 * se, group


@pytest.mark.parametrize(
    "kwargs",
    [
        {"over_representation": {"Purple": 2.0}},
        {"over_representation": {"Unknown": 2.0}},
        {"over_representation": {"Black": 0.0}},
        {"biased_group": "Nobody"},
        {"biased_officers": -1},
        {"daylight_effect": -1.0},
        {"hit_rate": {"Black": 1.5}},
    ],
)
def test_impossible_effects_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PlantedEffects(**kwargs)


def test_more_biased_officers_than_officers_is_refused() -> None:
    with pytest.raises(ValueError, match="biased_officers"):
        generate(10, officers=5, effects=PlantedEffects(biased_officers=6))


# --- population ---------------------------------------------------------------------------------------


def test_population_table_is_the_benchmark_format(tmp_path) -> None:
    table = population.population_table()
    assert list(table.columns) == ["area", "group", "population"]
    assert set(table["area"]) == {*population.DIVISION_CODES, "ALL"}
    assert set(table["group"]) == set(vocabulary.BENCHMARK_GROUPS)
    assert "Unknown" not in set(table["group"])
    assert len(table) == 17 * 8
    divisions = table[table["area"] != "ALL"].groupby("group")["population"].sum()
    city = table[table["area"] == "ALL"].set_index("group")["population"]
    pd.testing.assert_series_equal(divisions.sort_index(), city.sort_index(), check_names=False)
    path = tmp_path / "benchmark.csv"
    population.write_benchmark(path)
    pd.testing.assert_frame_equal(pd.read_csv(path, dtype={"area": "str", "group": "str"}), table)


def test_population_keeps_census_city_shares_and_varies_by_division() -> None:
    table = population.population_table()
    city = table[table["area"] == "ALL"].set_index("group")["population"]
    shares = city / city.sum()
    for group, share in population.city_shares().items():
        assert abs(shares[group] - share) < 1e-4, group
    assert 0.085 < shares["Black"] < 0.095  # 239,850 of 2,691,665 in the 2016 Census
    by_division = table.pivot(index="area", columns="group", values="population")
    fractions = by_division.div(by_division.sum(axis=1), axis=0)
    assert fractions.loc["D31", "Black"] > 1.5 * fractions.loc["ALL", "Black"]
    assert fractions.loc["D42", "White"] < 0.6 * fractions.loc["ALL", "White"]


def test_codes_are_the_rule_sets_own():
    """Synthetic records use the codes of the rule set in force, so they load and evaluate as real ones."""
    from fairengage.ingest import synth
    from fairengage.policy import ruleset_in_force

    ruleset = ruleset_in_force(date(2025, 1, 1))
    assert set(synth.PURPOSES) == set(ruleset.codes("purposes"))
    assert set(synth.RECEIPT_EXCEPTIONS) <= set(ruleset.codes("receipt_exceptions"))
    assert set(synth.INFORM_EXCEPTIONS) <= set(ruleset.codes("inform_exceptions"))
    assert set(synth.REASON_GROUNDS) <= set(ruleset.codes("reason_grounds")) - ruleset.forbidden_codes()
    assert set(synth.GENDERS) == set(ruleset.codes("perceived_gender"))
    assert set(synth.OUTCOMES) == set(ruleset.codes("outcomes"))


def test_some_encounters_engage_two_to_four_people_who_share_the_scene(detailed: pd.DataFrame) -> None:
    groups = detailed.groupby("encounter_id", sort=False)
    sizes = groups.size()
    share = float((sizes > 1).mean())
    assert abs(share - GROUP_SHARE) < 0.03, share
    assert sizes.max() <= 4 and set(sizes.unique()) == {1, 2, 3, 4}
    # The encounter is named by its first row, and a person alone names their own record.
    assert set(sizes.index) <= set(detailed["engagement_id"])
    alone = detailed[detailed["encounter_id"].map(sizes) == 1]
    assert (alone["encounter_id"] == alone["engagement_id"]).all()
    shared = [
        "occurred_at",
        "division",
        "officer_key",
        "purpose",
        "lat",
        "lon",
        "reason",
        "location_description",
    ]
    together = detailed[detailed["encounter_id"].map(sizes) > 1]
    spread = together.groupby("encounter_id")[shared].nunique(dropna=False)
    assert (spread == 1).all().all(), spread.max()
    # Each person is drawn on their own: the people of one encounter are not copies of one another.
    own = together.groupby("encounter_id")[["perceived_age", "perceived_gender", "perceived_race"]].nunique()
    assert (own.max(axis=1) > 1).mean() > 0.5


def test_no_groups_asked_for_none_made() -> None:
    df = generate(5000, seed=3, group_share=0.0)
    assert (df["encounter_id"] == df["engagement_id"]).all()
    with pytest.raises(ValueError, match="group_share"):
        generate(10, group_share=1.0)
