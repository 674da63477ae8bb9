"""The threshold test: the bar for a search, by group and division, told apart from infra-marginality.

Simoiu, Corbett-Davies & Goel (2017), "The problem of infra-marginality in outcome tests for
discrimination", Ann. Appl. Stat. 11:1193, in the faster formulation of Pierson, Corbett-Davies & Goel
(2018), "Fast threshold tests for detecting discrimination", AISTATS. Each stopped person carries a
probability of carrying contraband that the officer can judge; in group g and division d those
probabilities follow a *discriminant distribution*: the posterior probability of guilt when a signal is
drawn from N(0, 1) for the innocent and N(delta, 1) for the guilty, a share phi being guilty. The
officer searches when the probability passes a threshold t. Then

    search rate = phi * P(N(delta, 1) > c) + (1 - phi) * P(N(0, 1) > c)
    hit rate    = phi * P(N(delta, 1) > c) / search rate

with c the signal at which the probability equals t. With phi and delta varying by group plus division,
and t by group with a small division deviation, the stops, searches and hits of every cell pin down the
thresholds. A lower threshold for a group is the direct evidence of a lower bar; a lower hit rate is not
(groups with different risk distributions have different hit rates under one threshold).

The counts come from the engine (``counts.cell_counts``, the same on DuckDB and Spark); only the fit
runs here, with NumPyro's No-U-Turn sampler on JAX (CPU), an optional extra (``threshold``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairengage.analytics.counts import CITY
from fairengage.analytics.outcome_test import MIN_DIVISION_SEARCHES, MIN_EXPECTED_FINDS
from fairengage.vocabulary import REFERENCE_GROUP

COLUMNS = ("area", "group", "threshold", "ci_low", "ci_high", "searches", "hits", "stops")
DIFFERENCE_COLUMNS = (
    "group", "reference", "difference", "ci_low", "ci_high", "searches", "hits", "ref_searches", "ref_hits",
    "enough",
)  # fmt: skip
CHECK_COLUMNS = (
    "area",
    "group",
    "stops",
    "search_rate",
    "predicted_search_rate",
    "search_ci_low",
    "search_ci_high",
    "hit_rate",
    "predicted_hit_rate",
    "hit_ci_low",
    "hit_ci_high",
)
CREDIBLE = 0.95


class ThresholdTestUnavailable(RuntimeError):
    """The threshold test cannot run here (its extra is not installed); the message says how to fix it."""


@dataclass(frozen=True)
class FitSettings:
    """How long the sampler runs. The defaults suit a report; tests use fewer draws."""

    chains: int = 4
    warmup: int = 1000
    samples: int = 1000
    seed: int = 0
    # Groups with fewer stops than this city-wide are left out of the model (nothing to learn from).
    min_stops: int = 1
    # Only these groups (None: every group); a smaller model fits faster, as tests do.
    groups: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ThresholdFit:
    """The fitted model's answer, as report.json rows, and how well the sampler mixed."""

    thresholds: list[dict[str, Any]]
    differences: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    diagnostics: dict[str, Any]


def rates(phi: Any, delta: Any, threshold: Any, *, logit: Any = None, ndtr: Any = None) -> tuple[Any, Any]:
    """Search and hit rates of a discriminant distribution (phi, delta) searched at a threshold.

    Written once for numpy (the defaults: scipy's functions) and for JAX (the model passes its own), so
    the model and the checks of it use one formula.
    """
    if logit is None or ndtr is None:
        from scipy import special  # deferred: only the checks and the figure need it

        logit, ndtr = special.logit, special.ndtr
    # The signal at which the posterior probability of guilt equals the threshold.
    cut = (logit(threshold) - logit(phi)) / delta + delta / 2
    guilty_searched = phi * ndtr(delta - cut)
    searched = guilty_searched + (1 - phi) * ndtr(-cut)
    return searched, guilty_searched / searched


def model_cells(cells: pd.DataFrame, min_stops: int = 1, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-division (area, group, stops, searches, hits) cells the model is fitted to, sorted.

    ``cells`` are ``counts.cell_counts`` rows (the engine's grouped counts, with the city-wide rows).
    """
    frame = cells.loc[cells["area"] != CITY, ["area", "group", "engagements", "searched", "hits"]]
    frame = frame.rename(columns={"engagements": "stops", "searched": "searches"})
    if groups is not None:
        frame = frame.loc[frame["group"].isin(groups)]
    totals = frame.groupby("group")["stops"].sum()
    kept = totals.index[totals >= max(min_stops, 1)]
    frame = frame.loc[frame["group"].isin(kept) & (frame["stops"] > 0)]
    return frame.sort_values(["area", "group"], kind="stable").reset_index(drop=True)


def threshold_test(
    cells: pd.DataFrame,
    *,
    reference_group: str = REFERENCE_GROUP,
    settings: FitSettings | None = None,
) -> ThresholdFit:
    """Fit the threshold model to grouped counts and summarise thresholds, differences and checks."""
    settings = settings or FitSettings()
    data = model_cells(cells, settings.min_stops, settings.groups)
    if data.empty or int(data["searches"].sum()) == 0:
        return ThresholdFit([], [], [], {"fitted": False, "reason": "no searches"})
    groups = sorted(set(data["group"]))
    areas = sorted(set(data["area"]))
    g = np.array([groups.index(x) for x in data["group"]], dtype=np.int64)
    d = np.array([areas.index(x) for x in data["area"]], dtype=np.int64)
    stops = data["stops"].to_numpy(dtype=np.int64)
    searches = data["searches"].to_numpy(dtype=np.int64)
    hits = data["hits"].to_numpy(dtype=np.int64)

    draws, diagnostics = _sample(g, d, stops, searches, hits, len(groups), len(areas), settings)
    cell_thresholds = draws["threshold"]  # draws x cells
    # A group's city-wide threshold is its divisions' thresholds weighted by each division's stops of
    # every group (Simoiu et al. 2017, section 4): the same weights for every group, so a difference
    # reflects the bar, not where each group happens to be stopped.
    division_stops = data.groupby("area")["stops"].sum().reindex(areas).to_numpy(dtype=float)
    by_group = _city_thresholds(cell_thresholds, g, d, len(groups), len(areas), division_stops)

    rows: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        mine = data["group"] == group
        rows.append(
            _threshold_row(CITY, group, by_group[:, index], data.loc[mine, ["stops", "searches", "hits"]])
        )
    for column in range(len(data)):
        rows.append(
            _threshold_row(
                str(data["area"].iloc[column]),
                str(data["group"].iloc[column]),
                cell_thresholds[:, column],
                data.iloc[[column]],
            )
        )
    rows.sort(key=lambda r: (r["area"], r["group"]))

    differences: list[dict[str, Any]] = []
    if reference_group in groups:
        reference = by_group[:, groups.index(reference_group)]
        # Each group's city-wide searches and finds, as its `ALL` row above gives them.
        city = {row["group"]: row for row in rows if row["area"] == CITY}
        n0, c = city[reference_group]["searches"], city[reference_group]["hits"]
        for index, group in enumerate(groups):
            if group == reference_group:
                continue
            gap = by_group[:, index] - reference
            low, high = _interval(gap)
            n1, a = city[group]["searches"], city[group]["hits"]
            differences.append(
                {
                    "group": group,
                    "reference": reference_group,
                    "difference": float(np.mean(gap)),
                    "ci_low": low,
                    "ci_high": high,
                    "searches": n1,
                    "hits": a,
                    "ref_searches": n0,
                    "ref_hits": c,
                    "enough": enough_searches(n1, a, n0, c),
                }
            )
    checks = _checks(data, draws["search_rate"], draws["hit_rate"])
    diagnostics.update(
        {
            "fitted": True,
            "groups": groups,
            "divisions": areas,
            "search_rate_rmse": _rmse(checks, "search_rate"),
            "hit_rate_rmse": _rmse(checks, "hit_rate", weight="searches"),
            "checks_outside_interval": sum(
                1
                for c in checks
                if not c["search_ci_low"] <= c["search_rate"] <= c["search_ci_high"]
                or (c["hit_rate"] is not None and not c["hit_ci_low"] <= c["hit_rate"] <= c["hit_ci_high"])
            ),
        }
    )
    return ThresholdFit(rows, differences, checks, diagnostics)


def enough_searches(searches: int, hits: int, ref_searches: int, ref_hits: int) -> bool:
    """Whether two groups' searches say enough about their bars for a difference to be read as one.

    The outcome test's rule for a comparison (``outcome_test``): each group at least
    ``MIN_DIVISION_SEARCHES`` searches, and each expected to find contraband at least
    ``MIN_EXPECTED_FINDS`` times at the two groups' pooled hit rate. Below it the model still gives a
    difference and an interval, but its assumptions (the priors, the shape of the risk distribution)
    set them more than the searches do: on Hartford, 10 searches with no find put a group's bar 6.3
    points above White people's, with an interval clear of 0.
    """
    fewer = min(searches, ref_searches)
    if not searched_enough(fewer):
        return False
    return fewer * (hits + ref_hits) / (searches + ref_searches) >= MIN_EXPECTED_FINDS


def searched_enough(searches: int) -> bool:
    """Whether a group was searched often enough for its bar to rest on its searches rather than on the
    model's assumptions: the outcome test's floor for a comparison (``MIN_DIVISION_SEARCHES``)."""
    return searches >= MIN_DIVISION_SEARCHES


def _threshold_row(area: str, group: str, draws: np.ndarray, counts: pd.DataFrame) -> dict[str, Any]:
    low, high = _interval(draws)
    return {
        "area": area,
        "group": group,
        "threshold": float(np.mean(draws)),
        "ci_low": low,
        "ci_high": high,
        "searches": int(counts["searches"].sum()),
        "hits": int(counts["hits"].sum()),
        "stops": int(counts["stops"].sum()),
    }


def _interval(draws: np.ndarray) -> tuple[float, float]:
    tail = (1 - CREDIBLE) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def _city_thresholds(
    cell_thresholds: np.ndarray, g: np.ndarray, d: np.ndarray, groups: int, areas: int, weights: np.ndarray
) -> np.ndarray:
    """Draws x groups: each group's thresholds averaged over the divisions where it was stopped."""
    result = np.empty((cell_thresholds.shape[0], groups))
    for index in range(groups):
        columns = np.flatnonzero(g == index)
        w = weights[d[columns]]
        result[:, index] = cell_thresholds[:, columns] @ (w / w.sum())
    return result


def _checks(data: pd.DataFrame, search_draws: np.ndarray, hit_draws: np.ndarray) -> list[dict[str, Any]]:
    """Posterior predictive checks: each cell's observed search and hit rates beside the model's.

    The predicted rates are drawn as new counts (binomial, at the cell's own stops and searches), so the
    interval holds the sampling noise a real cell has too; an observed rate outside it is a misfit.
    """
    rng = np.random.default_rng(0)
    stops = data["stops"].to_numpy(dtype=np.int64)
    searches = data["searches"].to_numpy(dtype=np.int64)
    hits = data["hits"].to_numpy(dtype=np.int64)
    new_searches = rng.binomial(stops, np.clip(search_draws, 0.0, 1.0)) / stops
    safe = np.maximum(searches, 1)
    new_hits = rng.binomial(safe, np.clip(hit_draws, 0.0, 1.0)) / safe
    rows: list[dict[str, Any]] = []
    for column in range(len(data)):
        s_low, s_high = _interval(new_searches[:, column])
        h_low, h_high = _interval(new_hits[:, column])
        searched = int(searches[column])
        rows.append(
            {
                "area": str(data["area"].iloc[column]),
                "group": str(data["group"].iloc[column]),
                "stops": int(stops[column]),
                "searches": searched,
                "search_rate": float(searches[column] / stops[column]),
                "predicted_search_rate": float(np.mean(search_draws[:, column])),
                "search_ci_low": s_low,
                "search_ci_high": s_high,
                "hit_rate": float(hits[column] / searched) if searched else None,
                "predicted_hit_rate": float(np.mean(hit_draws[:, column])),
                "hit_ci_low": h_low,
                "hit_ci_high": h_high,
            }
        )
    return rows


def _rmse(checks: Sequence[dict[str, Any]], measure: str, weight: str = "stops") -> float | None:
    pairs = [(c[measure], c[f"predicted_{measure}"], c[weight]) for c in checks if c[measure] is not None]
    total = sum(w for _, _, w in pairs)
    if not total:
        return None
    return float(np.sqrt(sum(w * (o - p) ** 2 for o, p, w in pairs) / total))


def _sample(
    g: np.ndarray,
    d: np.ndarray,
    stops: np.ndarray,
    searches: np.ndarray,
    hits: np.ndarray,
    groups: int,
    areas: int,
    settings: FitSettings,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Run NUTS; return draws of each cell's threshold, search rate and hit rate, and diagnostics."""
    # The JAX platform is chosen at its first import: CPU, so that no accelerator is probed for.
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        # deferred: heavy libraries (JAX compiles the model), only for --threshold-test
        import jax
        import jax.numpy as jnp
        import numpyro
        import numpyro.distributions as dist
        from jax.scipy.special import expit, logit, ndtr
        from numpyro.diagnostics import summary
        from numpyro.infer import MCMC, NUTS
    except ImportError:
        raise ThresholdTestUnavailable(
            "the threshold test needs NumPyro: pip install -e '.[threshold]'"
        ) from None
    # Several chains on a CPU run one after another unless JAX is told it has that many devices; the
    # vectorised method runs them together in one compiled program instead.
    jax.config.update("jax_enable_x64", True)

    def model(g: Any, d: Any, stops: Any, searches: Any, hits: Any) -> None:
        # Priors after Simoiu et al. (2017), section 3: weakly informative on the logit (phi, t) and
        # log (delta) scales; division effects shrink toward zero with a scale learnt from the data.
        phi_group = numpyro.sample("phi_group", dist.Normal(-1.0, 1.5).expand([groups]))
        delta_group = numpyro.sample("delta_group", dist.Normal(0.5, 1.0).expand([groups]))
        t_group = numpyro.sample("t_group", dist.Normal(-1.0, 1.5).expand([groups]))
        phi_scale = numpyro.sample("phi_scale", dist.HalfNormal(1.0))
        delta_scale = numpyro.sample("delta_scale", dist.HalfNormal(0.5))
        t_scale = numpyro.sample("t_scale", dist.HalfNormal(0.25))
        phi_raw = numpyro.sample("phi_division_raw", dist.Normal(0.0, 1.0).expand([areas]))
        delta_raw = numpyro.sample("delta_division_raw", dist.Normal(0.0, 1.0).expand([areas]))
        t_raw = numpyro.sample("t_cell_raw", dist.Normal(0.0, 1.0).expand([g.shape[0]]))
        phi = expit(phi_group[g] + phi_scale * phi_raw[d])
        delta = jnp.exp(delta_group[g] + delta_scale * delta_raw[d])
        threshold = expit(t_group[g] + t_scale * t_raw)
        searched, hit = rates(phi, delta, threshold, logit=logit, ndtr=ndtr)
        eps = 1e-12
        search_rate = jnp.clip(searched, eps, 1 - eps)
        hit_rate = jnp.clip(jnp.nan_to_num(hit, nan=eps), eps, 1 - eps)
        numpyro.deterministic("threshold", threshold)
        numpyro.deterministic("search_rate", search_rate)
        numpyro.deterministic("hit_rate", hit_rate)
        numpyro.sample("searches", dist.Binomial(stops, probs=search_rate), obs=searches)
        numpyro.sample("hits", dist.Binomial(searches, probs=hit_rate), obs=hits)

    mcmc = MCMC(
        NUTS(model, target_accept_prob=0.9),
        num_warmup=settings.warmup,
        num_samples=settings.samples,
        num_chains=settings.chains,
        chain_method="vectorized" if settings.chains > 1 else "sequential",
        progress_bar=False,
    )
    mcmc.run(
        jax.random.PRNGKey(settings.seed),
        jnp.asarray(g),
        jnp.asarray(d),
        jnp.asarray(stops),
        jnp.asarray(searches),
        jnp.asarray(hits),
    )
    grouped = mcmc.get_samples(group_by_chain=True)
    watched = {k: np.asarray(v) for k, v in grouped.items() if k in {"t_group", "threshold"}}
    stats = summary(watched, group_by_chain=True)
    rhat = max(float(np.nanmax(s["r_hat"])) for s in stats.values()) if settings.chains > 1 else None
    ess = min(float(np.nanmin(s["n_eff"])) for s in stats.values())
    divergences = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    flat = mcmc.get_samples()
    draws = {k: np.asarray(flat[k], dtype=float) for k in ("threshold", "search_rate", "hit_rate")}
    diagnostics: dict[str, Any] = {
        "chains": settings.chains,
        "warmup": settings.warmup,
        "samples": settings.samples,
        "seed": settings.seed,
        "max_r_hat": rhat,
        "min_effective_draws": ess,
        "divergences": divergences,
    }
    return draws, diagnostics
