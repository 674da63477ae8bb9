"""The analyses find effects planted in synthetic data (docs/synthetic-data.md), and nothing where none is."""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pytest

from fairengage import vocabulary
from fairengage.analytics import engine
from fairengage.analytics.counts import CITY
from fairengage.analytics.disproportionality import disproportionality
from fairengage.analytics.outcome_test import outcome_test
from fairengage.ingest import population
from fairengage.ingest.synth import PlantedEffects, generate, write_table


@pytest.fixture(scope="module")
def duck_module():  # type: ignore[no-untyped-def]
    backend = engine.connect("duckdb")
    yield backend
    engine.disconnect(backend)


def synthetic(backend, folder: Path, records: int, seed: int, effects: PlantedEffects) -> ibis.Table:
    path = folder / f"synth-{seed}.parquet"
    write_table(generate(records, seed=seed, effects=effects), path)
    return engine.load_table(backend, path)


def expected_city_indices(multipliers: dict[str, float]) -> dict[str, float]:
    """The city-wide index each group should show, from the generator's own arithmetic.

    Within a division of population shares s, each group's odds are multiplied and renormalised; the
    division is drawn in proportion to its volume. The city index compares the resulting mix with the
    benchmark's city-wide shares.
    """
    groups = vocabulary.BENCHMARK_GROUPS
    m = np.array([multipliers.get(g, 1.0) for g in groups])
    volumes = np.array([population.DIVISIONS[d].volume for d in population.DIVISION_CODES])
    weights = volumes / volumes.sum()
    shares = population.division_shares()
    mix = sum(
        w * (shares[d] * m) / (shares[d] * m).sum()
        for w, d in zip(weights, population.DIVISION_CODES, strict=True)
    )
    bench = population.population_table()
    city = bench[bench["area"] == CITY].set_index("group")["population"]
    city_share = city / city.sum()
    return {g: float(mix[i] / city_share[g]) for i, g in enumerate(groups)}


def city_rows(rows: list[dict]) -> dict[str, dict]:
    return {r["group"]: r for r in rows if r["area"] == CITY}


def test_planted_over_representation_is_found(duck_module, tmp_path_factory):
    # Odds x2 for Black: within a division of Black share s the engagement share becomes 2s/(1+s).
    table = synthetic(
        duck_module,
        tmp_path_factory.mktemp("over"),
        6000,
        21,
        PlantedEffects(over_representation={"Black": 2.0}),
    )
    rows = city_rows(disproportionality(table, population.population_table(), threshold=1.5))
    expected = expected_city_indices({"Black": 2.0})["Black"]
    assert expected == pytest.approx(1.9, abs=0.05)  # docs/synthetic-data.md: "about 1.8" to 2
    black = rows["Black"]
    assert black["notable"] is True
    assert black["ci_low"] <= expected <= black["ci_high"]


def test_no_group_is_notable_without_an_effect(duck_module, tmp_path_factory):
    # Why this is robust, not lucky: with nothing planted the true city indices lie between 0.95 and
    # 1.11 (divisions are drawn by volume, not residents, so the mix is not exactly the city's; checked
    # below). Being notable needs an observed index of 1.5, at least 35% above the truth. For the
    # smallest group (Indigenous, about 190 of 20,000 engagements) that is 5 standard errors of a
    # Poisson count; every other group is further away still.
    truth = expected_city_indices({})
    assert max(truth.values()) < 1.15 and min(truth.values()) > 0.9
    table = synthetic(duck_module, tmp_path_factory.mktemp("none"), 20_000, 5, PlantedEffects())
    rows = city_rows(disproportionality(table, population.population_table(), threshold=1.5))
    assert set(rows) == set(vocabulary.BENCHMARK_GROUPS)
    assert not [g for g, r in rows.items() if r["notable"]]
    # And every index sits within 4 of its standard errors (read off its own 95% interval) of the truth.
    for group, figures in rows.items():
        standard_error = (figures["ci_high"] - figures["ci_low"]) / (2 * 1.96)
        assert figures["index"] == pytest.approx(truth[group], abs=4 * standard_error), group


def test_planted_lower_hit_rate_is_found(duck_module, tmp_path_factory):
    # 4% of 50,000 engagements are searches: about 180 of Black people and 940 of White people, so the
    # 95% intervals of 0.15 and 0.30 are about ±0.05 and ±0.03 wide and cannot overlap by chance.
    table = synthetic(
        duck_module, tmp_path_factory.mktemp("hits"), 50_000, 8, PlantedEffects(hit_rate={"Black": 0.15})
    )
    rows = {r["group"]: r for r in outcome_test(table) if r["area"] == CITY}
    black, white = rows["Black"], rows["White"]
    assert black["ci_low"] <= 0.15 <= black["ci_high"]
    assert white["ci_low"] <= 0.30 <= white["ci_high"]
    assert black["ci_high"] < white["ci_low"]
