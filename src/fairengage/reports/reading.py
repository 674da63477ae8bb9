"""Plain-language readings of report.json figures, for board members and the public.

Each reading says what a figure is, with its 95% interval, and — where the method allows — what it does
not show. A figure that is not notable is said to be so plainly, and a suppressed one is named as
suppressed without any number that could reveal it (docs/rule-sets.md `SMALL-CELLS`, `NOTABLE`). Sentences are
gettext messages with named placeholders, so the French catalogue can reorder them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.numbers import format_decimal, format_percent

from fairengage.reports.charts import reads_as_subtraction
from fairengage.web.i18n import N_, translations

CITY = "ALL"
# How each disparity measure reads as a verb ("were searched … as often as").
MEASURE_VERBS = {
    "searched": N_("searched"),
    "caution": N_("cautioned"),
    "ticket": N_("ticketed"),
    "arrest": N_("arrested"),
    "referral": N_("referred to a service"),
}


class Reader:
    """Readings in one language, with number formats of that language."""

    def __init__(self, lang: str = "en", *, threshold: int = 10) -> None:
        self.lang = lang
        self.threshold = threshold
        self._tr = translations(lang)

    def _(self, message: str, **values: Any) -> str:
        text = self._tr.gettext(message)
        return text % values if values else text

    def _withheld(self, row: dict[str, Any], *, small: str, protects: str, either: str, **values: Any) -> str:
        """A suppressed row's sentence: why it is withheld (too few, or protecting a smaller figure, or
        either), with "fewer than N" among the values."""
        message = {"small": small, "protects": protects}.get(_reason(row) or "", either)
        return self._(message, few=self.fewer_than(), **values)

    # --- numbers ------------------------------------------------------------------------------------

    def count(self, value: int | None) -> str:
        """A count with thousands separators; a withheld one as `withheld`."""
        if value is None:
            return self.withheld()
        return format_decimal(value, locale=self.lang)

    def withheld(self) -> str:
        """How a withheld count is shown.

        One mark for every withheld count: a count under the threshold and a larger one withheld to protect
        it look the same, since telling them apart would narrow both (docs/rule-sets.md SMALL-CELLS).
        """
        return self._("withheld")

    def fewer_than(self) -> str:
        """`fewer than N`, N the suppression threshold."""
        return self._("fewer than %(n)s", n=format_decimal(self.threshold, locale=self.lang))

    def ratio(self, value: float | None, digits: int = 1) -> str:
        """An index or ratio, to `digits` decimals."""
        if value is None:
            return "—"
        return format_decimal(round(value, digits), format="0." + "0" * digits, locale=self.lang)

    def percent(self, value: float | None, digits: int = 1) -> str:
        """A rate as a percentage."""
        if value is None:
            return "—"
        return format_percent(value, format="0." + "0" * digits + "%", locale=self.lang)

    def interval(self, low: float | None, high: float | None, fmt: Callable[..., str], digits: int) -> str:
        """`95% CI 2.3–2.5`, or a note that no interval can be given."""
        if low is None or high is None:
            return self._("no 95% interval can be given")
        if reads_as_subtraction(low, high):
            return self._("95%% CI %(low)s to %(high)s", low=fmt(low, digits), high=fmt(high, digits))
        return self._("95%% CI %(low)s–%(high)s", low=fmt(low, digits), high=fmt(high, digits))

    def where(self, area: str) -> str:
        """`Across the city` or `In division D11`."""
        return self._("Across the city") if area == CITY else self._("In division %(area)s", area=area)

    # --- analyses ------------------------------------------------------------------------------------

    def disproportionality(self, row: dict[str, Any]) -> str:
        """`Across the city, Black people were 2.4 times as likely to be engaged as … (95% CI 2.3–2.5).`"""
        group, where = row["group"], self.where(row["area"])
        if row.get("suppressed"):
            return self._withheld(
                row,
                small=N_(
                    "%(where)s, figures for %(group)s people are not published: they rest on %(few)s "
                    "engagements."
                ),
                protects=N_(
                    "%(where)s, figures for %(group)s people are withheld to protect a smaller figure: "
                    "publishing them would let a count of %(few)s be worked out."
                ),
                either=N_(
                    "%(where)s, figures for %(group)s people are withheld: they rest on %(few)s "
                    "engagements, or would let such a count be worked out."
                ),
                where=where,
                group=group,
            )
        if row.get("withheld"):
            return self._(
                "%(where)s, the index for %(group)s people is withheld: it would reveal a count withheld "
                "elsewhere in this report.",
                where=where,
                group=group,
            )
        if row.get("index") is None:
            return self._(
                "%(where)s, no index can be given for %(group)s people (no engagements or no residents).",
                where=where,
                group=group,
            )
        digits = ratio_digits(row["index"], row.get("ci_low"), row.get("ci_high"))
        sentence = self._(
            "%(where)s, %(group)s people were %(index)s times as likely to be engaged as their share of the "
            "population would suggest (%(ci)s).",
            where=where,
            group=group,
            index=self.ratio(row["index"], digits),
            ci=self.interval(row.get("ci_low"), row.get("ci_high"), self.ratio, digits),
        )
        return f"{sentence} {self._verdict(row)}"

    def disparity(self, row: dict[str, Any], reference: str = "White") -> str:
        """`Black people were searched 1.8 times as often as White people (95% CI …).`"""
        group, where = row["group"], self.where(row["area"])
        verb = self._(MEASURE_VERBS.get(row["measure"], row["measure"]))
        if row.get("suppressed"):
            return self._withheld(
                row,
                small=N_(
                    "%(where)s, how often %(group)s people were %(verb)s is not published: it rests on "
                    "%(few)s engagements."
                ),
                protects=N_(
                    "%(where)s, how often %(group)s people were %(verb)s is withheld to protect a smaller "
                    "figure (for example, the few who were not)."
                ),
                either=N_(
                    "%(where)s, how often %(group)s people were %(verb)s is withheld: it rests on %(few)s "
                    "engagements, or would let such a count be worked out."
                ),
                where=where,
                group=group,
                verb=verb,
            )
        if row.get("withheld"):
            return self._(
                "%(where)s, how often %(group)s people were %(verb)s compared with %(reference)s people is "
                "withheld: it would reveal a count withheld elsewhere in this report.",
                where=where,
                group=group,
                verb=verb,
                reference=reference,
            )
        if row.get("index") is None:
            return self._(
                "%(where)s, no comparison can be made for how often %(group)s people were %(verb)s (no "
                "%(reference)s people were).",
                where=where,
                group=group,
                verb=verb,
                reference=reference,
            )
        digits = ratio_digits(row["index"], row.get("ci_low"), row.get("ci_high"))
        sentence = self._(
            "%(where)s, %(group)s people were %(verb)s %(index)s times as often as %(reference)s people "
            "(%(rate)s against %(reference_rate)s; %(ci)s).",
            where=where,
            group=group,
            verb=verb,
            index=self.ratio(row["index"], digits),
            reference=reference,
            rate=self.percent(row.get("rate")),
            reference_rate=self.percent(row.get("reference_rate")),
            ci=self.interval(row.get("ci_low"), row.get("ci_high"), self.ratio, digits),
        )
        return f"{sentence} {self._verdict(row)}"

    def _verdict(self, row: dict[str, Any]) -> str:
        low, high = row.get("ci_low"), row.get("ci_high")
        if row.get("notable"):
            return self._(
                "This is notable under the rule set's threshold: the index is at or above it and the whole "
                "interval lies above 1. It calls for a closer look; it does not by itself show bias."
            )
        if low is None or high is None:
            return self._("It is not notable: without an interval, chance cannot be ruled out.")
        if low <= 1 <= high:
            return self._("It is not notable: the interval includes 1, so the difference could be chance.")
        if high < 1:
            return self._("It is not notable: the whole interval lies below 1.")
        return self._("It is not notable: the interval lies above 1 but the index is below the threshold.")

    def policy_change(self, row: dict[str, Any]) -> str:
        """The interrupted time series of one group's share of engagements around one date, in words."""
        if row.get("level_change") is None:
            return self._(
                "Around %(date)s, a change in %(group)s people's share of engagements cannot be tested: "
                "it needs at least six months of data on each side of the date.",
                date=row["date"],
                group=row["group"],
            )
        points = lambda value, digits=1: self.ratio(None if value is None else value * 100, digits)  # noqa: E731
        sentence = self._(
            "Around %(date)s, %(group)s people's share of engagements stepped by %(level)s percentage points "
            "(%(ci)s), and its trend changed by %(slope)s points a month.",
            date=row["date"],
            group=row["group"],
            level=points(row["level_change"]),
            ci=self.interval(row.get("level_ci_low"), row.get("level_ci_high"), points, 1),
            slope=points(row.get("slope_change"), 2),
        )
        low, high = row.get("level_ci_low"), row.get("level_ci_high")
        if low is not None and high is not None and (low > 0 or high < 0):
            meaning = self._(
                "The step is larger than chance would explain. It does not show that the rule change caused "
                "it: anything else that changed at the same time would look the same."
            )
        else:
            meaning = self._("The interval includes 0: the step could be chance.")
        return f"{sentence} {meaning}"

    def veil_reason(self, code: str | None) -> str:
        """Why the veil-of-darkness model gives no estimate, in plain words (analytics/veil.py REASONS)."""
        reasons = {
            "no_stops": self._("no engagements with a known perceived race fell between sunset and dark"),
            "no_contrast": self._(
                "the engagements in that window were all in daylight or all in darkness, so there is "
                "nothing to compare"
            ),
            "no_variation": self._(
                "every engagement in that window was of the same group (or none was), so there is nothing "
                "to compare"
            ),
            "few_times": self._(
                "the engagements fall at too few different clock times to hold clock time fixed"
            ),
            "unstable": self._(
                "there are too few engagements of some kind (for example a group's engagements in the dark) "
                "for a stable estimate"
            ),
            "few_cases": self._(
                "fewer than 10 engagements of the group, or of the others, fell in that window"
            ),
            "one_officer": self._(
                "all the engagements in that window were made by one officer, so the uncertainty cannot be "
                "measured"
            ),
            "no_mixed_division": self._(
                "in no division were there engagements of both the group and the others in that window, so "
                "there is nothing to compare within a division"
            ),
            "not_settled": self._(
                "the model's calculation did not settle on one answer, so any figure it gave would depend "
                "on rounding"
            ),
        }
        return reasons.get(code or "", self._("there were too few engagements between sunset and dark"))

    def veil_of_darkness(self, veil: dict[str, Any] | None) -> str:
        """What the veil-of-darkness odds ratio says, and what it does not."""
        if not veil or veil.get("odds_ratio") is None:
            why = self.veil_reason((veil or {}).get("reason_code"))
            return self._("The veil-of-darkness test gives no estimate for this period: %(why)s.", why=why)
        group = veil.get("group", "Black")
        digits = ratio_digits(veil["odds_ratio"], veil.get("ci_low"), veil.get("ci_high"), places=2)
        sentence = self._(
            "Comparing engagements at the same clock time, the odds that the person engaged was %(group)s "
            "were %(ratio)s times as high in the dark as in daylight (%(ci)s; %(n)s engagements).",
            group=group,
            ratio=self.ratio(veil["odds_ratio"], digits),
            ci=self.interval(veil.get("ci_low"), veil.get("ci_high"), self.ratio, digits),
            n=self.count(veil.get("n")),
        )
        low, high = veil.get("ci_low"), veil.get("ci_high")
        if high is not None and high < 1:
            meaning = self._(
                "%(group)s people were a smaller share of engagements when race is harder to see. That is "
                "what the test expects if race played a part in daylight engagements. It does not show which "
                "engagements, or which officers, and other differences between light and dark at the same "
                "clock time could play a part.",
                group=group,
            )
        elif low is not None and low > 1:
            meaning = self._(
                "%(group)s people were a larger share of engagements in the dark. The test looks for the "
                "opposite, so it gives no sign of race shaping daylight engagements; look for other "
                "differences between light and dark (places, patrols).",
                group=group,
            )
        else:
            meaning = self._(
                "The interval includes 1: the test finds no clear difference. That is not proof that race "
                "played no part: the test only sees bias that depends on being able to see a person."
            )
        return f"{sentence} {meaning}"

    def veil_window(self, specification: str) -> str:
        """The robust veil-of-darkness windows' names (analytics/veil_robust.py SPECIFICATIONS)."""
        if specification == "dst":
            return self._("near the clock changes")
        return self._("between sunset and dark")

    def veil_group(self, row: dict[str, Any]) -> str:
        """One group against the reference group in one window: the odds ratio, or why there is none."""
        values = {
            "group": row["group"],
            "reference": row["reference"],
            "window": self.veil_window(row.get("specification", "inter-twilight")),
        }
        if row.get("odds_ratio") is None:
            return self._(
                "%(group)s against %(reference)s people, %(window)s: no estimate, because %(why)s.",
                why=self.veil_reason(row.get("reason_code")),
                **values,
            )
        digits = ratio_digits(row["odds_ratio"], row.get("ci_low"), row.get("ci_high"), places=2)
        return self._(
            "%(group)s against %(reference)s people, %(window)s: the odds were %(ratio)s times as high in "
            "the dark (%(ci)s; %(n)s engagements).",
            ratio=self.ratio(row["odds_ratio"], digits),
            ci=self.interval(row.get("ci_low"), row.get("ci_high"), self.ratio, digits),
            n=self.count(row.get("n")),
            **values,
        )

    def veil_divisions(self, rows: list[dict[str, Any]]) -> str:
        """Which divisions stand out once the number of divisions compared is allowed for (BH, 5%)."""
        fitted = [r for r in rows if r.get("odds_ratio") is not None]
        notable = [r for r in fitted if r.get("notable")]
        if not notable:
            return self._(
                "Division by division (%(n)s estimates), none stands out once the number of divisions "
                "compared is allowed for (Benjamini–Hochberg, 5%% false discovery rate).",
                n=self.count(len(fitted)),
            )
        items = ", ".join(
            self._(
                "%(area)s, %(group)s: %(ratio)s",
                area=r["area"],
                group=r["group"],
                ratio=self.ratio(r["odds_ratio"], ratio_digits(r["odds_ratio"], None, None, places=2)),
            )
            for r in notable
        )
        return self._(
            "Division by division, these stand out once the number of divisions compared is allowed for "
            "(Benjamini–Hochberg, 5%% false discovery rate): %(items)s. Read them as places to look, not as "
            "findings about officers.",
            items=items,
        )

    def veil_sensitivity(self, rows: list[dict[str, Any]]) -> str | None:
        """How far each group's estimate moves as the clock-time curve is made stiffer or more flexible."""
        spans: dict[str, list[float]] = {}
        for row in rows:
            if row.get("odds_ratio") is not None:
                spans.setdefault(row["group"], []).append(row["odds_ratio"])
        shown = {group: values for group, values in spans.items() if len(values) > 1}
        if not shown:
            return None
        items = ", ".join(
            self._(
                "%(group)s %(low)s to %(high)s",
                group=group,
                low=self.ratio(min(values), 2),
                high=self.ratio(max(values), 2),
            )
            for group, values in sorted(shown.items())
        )
        return self._(
            "With the clock-time curve from %(low)s to %(high)s degrees of freedom, the odds ratios range: "
            "%(items)s. An estimate that moves a lot leans on how clock time is modelled.",
            low=min(r["spline_df"] for r in rows),
            high=max(r["spline_df"] for r in rows),
            items=items,
        )

    def outcome_test(self, row: dict[str, Any]) -> str:
        """`Searches of Black people found contraband 28.0% of the time (95% CI …).`"""
        group, where = row["group"], self.where(row["area"])
        if row.get("suppressed"):
            return self._withheld(
                row,
                small=N_(
                    "%(where)s, search results for %(group)s people are not published: fewer than %(n)s "
                    "searches, or fewer than %(n)s finds."
                ),
                protects=N_(
                    "%(where)s, search results for %(group)s people are withheld to protect a smaller figure."
                ),
                either=N_(
                    "%(where)s, search results for %(group)s people are withheld: they rest on %(few)s "
                    "searches, or would let such a count be worked out."
                ),
                where=where,
                group=group,
                n=format_decimal(self.threshold, locale=self.lang),
            )
        if row.get("hit_rate") is None:
            return self._("%(where)s, no %(group)s people were searched.", where=where, group=group)
        return self._(
            "%(where)s, searches of %(group)s people found contraband %(rate)s of the time (%(ci)s; "
            "%(hits)s of %(searches)s searches).",
            where=where,
            group=group,
            rate=self.percent(row["hit_rate"]),
            ci=self.interval(row.get("ci_low"), row.get("ci_high"), self.percent, 1),
            hits=self.count(row.get("hits")),
            searches=self.count(row.get("searches")),
        )

    def outcome_test_meaning(self) -> str:
        """What a lower hit rate does and does not show."""
        return self._(
            "Where one group's searches find contraband less often and the intervals do not overlap, that "
            "group may have been searched on weaker grounds. The test assumes officers search to find "
            "contraband; a lower rate is evidence to look into, not proof of bias."
        )

    def points(self, value: float | None, digits: int = 1) -> str:
        """A difference of two rates in percentage points, signed (`−14.3`)."""
        if value is None:
            return "—"
        return format_decimal(round(value * 100, digits), format="+0." + "0" * digits + ";−0." + "0" * digits,
                              locale=self.lang)  # fmt: skip

    def outcome_difference(self, row: dict[str, Any], stratified: dict[str, Any] | None) -> str:
        """`Across the city, the hit rate of searches of Black people minus White people's: −14.3 points …`"""
        if row.get("difference") is None:
            return self._(
                "%(where)s, too few searches of %(group)s or %(reference)s people to compare their hit "
                "rates.",
                where=self.where(row["area"]),
                group=row["group"],
                reference=row["reference"],
            )
        text = self._(
            "%(where)s, the hit rate of searches of %(group)s people minus that of %(reference)s people: "
            "%(difference)s percentage points (%(ci)s); ratio %(ratio)s (%(ratio_ci)s).",
            where=self.where(row["area"]),
            group=row["group"],
            reference=row["reference"],
            difference=self.points(row["difference"]),
            ci=self.interval(row.get("ci_low"), row.get("ci_high"), self.points, 1),
            ratio=self.ratio(row.get("ratio"), 2),
            ratio_ci=self.interval(row.get("ratio_ci_low"), row.get("ratio_ci_high"), self.ratio, 2),
        )
        if stratified and stratified.get("difference") is not None:
            text += " " + self._(
                "Compared within each division (Mantel–Haenszel, %(strata)s divisions): %(difference)s "
                "points (%(ci)s).",
                strata=self.count(stratified.get("strata")),
                difference=self.points(stratified["difference"]),
                ci=self.interval(stratified.get("ci_low"), stratified.get("ci_high"), self.points, 1),
            )
        elif stratified:
            text += " " + self._(
                "Within divisions there are too few searches, or too few expected finds, for a comparison."
            )
        return text

    def outcome_difference_meaning(self) -> str:
        """How to read the difference of hit rates."""
        return self._(
            "A negative difference whose interval lies below zero means searches of that group found "
            "contraband less often than searches of the reference group. Where the city-wide and the "
            "within-division figures differ, part of the city-wide difference comes from where searches "
            "happen, not from whom they find. Groups with different shares carrying contraband can show "
            "different hit rates even under the same bar for searching (infra-marginality)."
        )

    def officer_review(self, review: dict[str, Any]) -> str:
        """How many comparisons each family made and flagged, and where the two comparisons disagree."""
        families = review.get("families") or []
        parts = [
            self._(
                "%(measure)s, %(comparison)s: %(flagged)s of %(tests)s flagged",
                measure=self._(REVIEW_MEASURES.get(f["measure"], f["measure"])),
                comparison=self._(REVIEW_COMPARISONS.get(f["comparison"], f["comparison"])),
                flagged=self.count(f["flagged"]),
                tests=self.count(f["tests"]),
            )
            for f in families
        ]
        return self._(
            "Every group was compared, officer by officer, with peers for three measures, each its own "
            "Benjamini–Hochberg family (false discovery rate %(fdr)s): %(families)s. Exact matching and the "
            "doubly robust comparison disagree on %(disagreements)s flags; where they disagree, the flag "
            "rests on how circumstances are matched and deserves a closer look before any conclusion.",
            fdr=self.percent(families[0]["fdr"], 0) if families else "—",
            families="; ".join(parts) or "—",
            disagreements=self.count(review.get("disagreements") or 0),
        )

    def benchmark_comparison(self, comparison: dict[str, Any]) -> str:
        """How many city-wide conclusions hold under every benchmark and how many rest on the choice."""
        city = [r for r in comparison.get("summary") or [] if r["area"] == CITY]
        depends = [r["group"] for r in city if r["depends_on_choice"]]
        return self._(
            "Disproportionality was computed under %(count)s benchmarks (%(names)s). Across the city, "
            "%(depends)s groups are notable under some benchmarks and not others: %(groups)s.",
            count=self.count(len(comparison.get("benchmarks") or [])),
            names=", ".join(comparison.get("benchmarks") or []),
            depends=self.count(len(depends)),
            groups=", ".join(depends) or "—",
        )

    def threshold_test(self, row: dict[str, Any], *, few: bool = False) -> str:
        """`Across the city, the model puts the bar for searching Black people at a 21.0% chance …`

        ``few``: the group was searched too few times for its bar to rest on its searches."""
        values = {
            "where": self.where(row["area"]),
            "group": row["group"],
            "threshold": self.percent(row.get("threshold")),
            "ci": self.credible(row.get("ci_low"), row.get("ci_high")),
            "searches": self.count(row.get("searches")),
            "stops": self.count(row.get("stops")),
        }
        if few:
            return self._(
                "%(where)s, %(group)s people were searched too few times (%(searches)s searches of "
                "%(stops)s people) for the model's bar for them to rest on their searches: its %(threshold)s "
                "chance of finding contraband (%(ci)s) comes mostly from the model's assumptions.",
                **values,
            )
        return self._(
            "%(where)s, the model puts the bar for searching %(group)s people at a %(threshold)s chance of "
            "finding contraband (%(ci)s; %(searches)s searches of %(stops)s people).",
            **values,
        )

    def threshold_difference(self, row: dict[str, Any]) -> str:
        """Whether a group's bar for a search is lower or higher than the reference group's."""
        low, high = row.get("ci_low"), row.get("ci_high")
        # A difference of two chances is in percentage points: "6.3 points", never "6.3%".
        values = {
            "group": row["group"],
            "reference": row["reference"],
            "gap": self.ratio(abs(row.get("difference") or 0.0) * 100, 1),
            "ci": self.credible_points(low, high),
        }
        # A report.json written before rows carried `enough` is read as it always was.
        if row.get("enough") is False:
            return self._(
                "Too few searches or finds to compare the bar for %(group)s people (%(searches)s searches, "
                "%(hits)s finding contraband) with the bar for %(reference)s people (%(ref_searches)s, "
                "%(ref_hits)s): the model's assumptions, more than the searches, set the difference "
                "(%(ci)s), so it is not read either way.",
                searches=self.count(row.get("searches")),
                hits=self.count(row.get("hits")),
                ref_searches=self.count(row.get("ref_searches")),
                ref_hits=self.count(row.get("ref_hits")),
                **values,
            )
        if high is not None and high < 0:
            return self._(
                "The bar for searching %(group)s people was lower than for %(reference)s people, by "
                "%(gap)s points (%(ci)s): they were searched on weaker grounds.",
                **values,
            )
        if low is not None and low > 0:
            return self._(
                "The bar for searching %(group)s people was higher than for %(reference)s people, by "
                "%(gap)s points (%(ci)s).",
                **values,
            )
        return self._(
            "The bar for searching %(group)s people cannot be told apart from the bar for %(reference)s "
            "people (%(ci)s).",
            **values,
        )

    def threshold_fit(self, diagnostics: dict[str, Any], checks: int) -> str:
        """How well the sampler settled and the model fits, and a warning when it should not be quoted."""
        r_hat = diagnostics.get("max_r_hat")
        divergences = int(diagnostics.get("divergences") or 0)
        outside = int(diagnostics.get("checks_outside_interval") or 0)
        text = self._(
            "The model was fitted with %(chains)s chains of %(samples)s draws each. The largest R-hat is "
            "%(r_hat)s (below 1.01 when the chains agree), there were %(divergences)s divergent transitions "
            "(0 when the sampler explored the model cleanly), and %(outside)s of %(checks)s model checks "
            "fall outside their range.",
            chains=self.count(diagnostics.get("chains")),
            samples=self.count(diagnostics.get("samples")),
            r_hat=self._("not computed (one chain)") if r_hat is None else self.ratio(r_hat, 3),
            divergences=self.count(divergences),
            outside=self.count(outside),
            checks=self.count(checks),
        )
        if r_hat is None or r_hat >= 1.01 or divergences > 0 or outside > checks / 20:
            text += " " + self._(
                "Treat these thresholds as provisional: the sampler had difficulty or the model misses the "
                "data, so do not quote them yet. Fitting again with more chains and draws "
                "(--threshold-chains, --threshold-samples) can help; if it does not, the searches are too "
                "few for this model."
            )
        return text

    def threshold_test_meaning(self) -> str:
        """What the threshold test adds to the outcome test, and what it assumes."""
        return self._(
            "The threshold test estimates the chance of finding contraband at which officers decide to "
            "search each group. Unlike the outcome test, it is not misled when groups differ in how often "
            "they carry contraband: a lower hit rate with the same bar is not a sign of bias, a lower bar "
            "is. It rests on a model of what officers can judge, and it sees only stops that happened; "
            "the checks below show how closely the model reproduces the observed rates."
        )

    def credible(self, low: float | None, high: float | None) -> str:
        """`95% credible interval 18.2%–24.0%` (percentage points for a difference)."""
        if low is None or high is None:
            return self._("no 95% interval can be given")
        return self._(
            "95%% credible interval %(low)s to %(high)s", low=self.percent(low), high=self.percent(high)
        )

    def credible_points(self, low: float | None, high: float | None) -> str:
        """`95% credible interval +0.1 to +19.7 points`: for a difference of two chances."""
        if low is None or high is None:
            return self._("no 95% interval can be given")
        return self._(
            "95%% credible interval %(low)s to %(high)s points", low=self.points(low), high=self.points(high)
        )

    def compliance(self, row: dict[str, Any]) -> str:
        """`Across the city, 4,800 of 5,000 engagements (96.0%): told they need not answer.`"""
        label = self._(COMPLIANCE_LABELS.get(row["measure"], row["measure"]))
        if row.get("suppressed") and row.get("total") is not None and _reason(row) in ("small", "protects"):
            if _reason(row) == "small":
                return self._(
                    "%(where)s, %(label)s: %(few)s of %(total)s engagements.",
                    where=self.where(row["area"]),
                    label=label,
                    few=self.fewer_than(),
                    total=self.count(row["total"]),
                )
            return self._(
                "%(where)s, %(label)s: withheld, to protect the smaller number of the %(total)s engagements "
                "where it was not so.",
                where=self.where(row["area"]),
                label=label,
                total=self.count(row["total"]),
            )
        if row.get("suppressed") or row.get("rate") is None:
            return self._(
                "%(where)s, %(label)s: withheld (it rests on %(few)s engagements, or would let such a count "
                "be worked out).",
                where=self.where(row["area"]),
                label=label,
                few=self.fewer_than(),
            )
        return self._(
            "%(where)s, %(label)s: %(count)s of %(total)s engagements (%(rate)s).",
            where=self.where(row["area"]),
            label=label,
            count=self.count(row.get("count")),
            total=self.count(row.get("total")),
            rate=self.percent(row["rate"]),
        )

    def officers(self, rows: list[dict[str, Any]] | None, group: str, min_volume: int) -> str:
        """How many officers were compared with their peers, and how many were flagged."""
        if rows is None:
            return self._("Officer benchmarking was not run.")
        flagged = sum(1 for r in rows if r.get("flagged"))
        return self._(
            "%(tested)s officers with at least %(min)s engagements were compared with peers in the same "
            "division, time of day and day type; %(flagged)s engaged %(group)s people notably more often "
            "than their peers. A flag sends the officer's records to review; it is not a finding of bias, "
            "and silence about an officer is not a clean bill.",
            tested=self.count(len(rows)),
            min=self.count(min_volume),
            flagged=self.count(flagged),
            group=group,
        )


REVIEW_MEASURES = {
    "share": N_("share of engagements with the group"),
    "search_rate": N_("search rate of the group"),
    "hit_rate": N_("hit rate of searches of the group"),
}
REVIEW_COMPARISONS = {"exact matching": N_("exact matching"), "doubly robust": N_("doubly robust")}

COMPLIANCE_LABELS = {
    "informed": N_("told they need not answer"),
    "receipt_offered": N_("offered a receipt"),
    "compliant": N_("every rule met (or a permitted exception)"),
    "identifying_info_collected": N_("identifying information collected"),
}


def _reason(row: dict[str, Any]) -> str | None:
    """Why a public row is hidden: `small` (a count below the threshold), `protects`, or None if unsaid."""
    return row.get("count_suppressed_reason") or row.get("suppressed_reason")


def ratio_digits(value: float, low: float | None, high: float | None, *, places: int = 1) -> int:
    """Decimals for an index and its interval: one more when rounding would hide which side of 1 it is."""
    digits = places
    for _ in range(3):
        if not any(_crosses_one(v, digits) for v in (value, low, high) if v is not None):
            break
        digits += 1
    return digits


def _crosses_one(value: float, digits: int) -> bool:
    # 1.04 shown as "1.0" would hide that an interval stops short of 1.
    return value != 1 and round(value, digits) == 1
