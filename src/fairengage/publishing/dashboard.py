"""The public dashboard (`/public`): a published period's headline figures, chart, map and downloads.

Served from the precomputed publications (reports/publications.py) only: a request reads a cached, suppressed
report.json and never the database. Filters are a plain GET form, so the page works without JavaScript.
"""

from __future__ import annotations

import mimetypes
from datetime import date
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Depends, HTTPException, Request
from markupsafe import Markup
from starlette.responses import FileResponse, HTMLResponse

from fairengage.config import Settings
from fairengage.reports import charts, maps, publications
from fairengage.reports.publications import ALL_AREAS, OPEN_DATA, Publication
from fairengage.reports.suppression import SMALL
from fairengage.web.deps import optional_page_principal, settings_of, signed_in_holds
from fairengage.web.i18n import N_, pick_language, translations
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)

MEASURES = {
    "compliant": N_("Records that kept every rule"),
    "informed": N_("People told they need not answer"),
    "receipt_offered": N_("People offered a receipt"),
    "identifying_info_collected": N_("Identifying information collected"),
}
FILE_LABELS = {
    "public.html": N_("Public report (web page)"),
    "public.pdf": N_("Public report (PDF)"),
    "report.public.json": N_("Every published figure (JSON)"),
}
INLINE = (".html", ".pdf", ".json", ".svg")
MEDIA_TYPES = {".parquet": "application/vnd.apache.parquet", ".csv": "text/csv; charset=utf-8"}


def publications_root(settings: Settings) -> Path:
    """Where the publications live (FAIRENGAGE_PUBLICATIONS_DIR)."""
    return Path(settings.publications_dir)


class Formats:
    """Numbers and withheld figures for one page, in its language.

    A hidden count says why (SMALL-CELLS): `fewer than 10` when it is itself below the threshold
    ("small"), `withheld` with a footnote when it is hidden only to protect a smaller figure ("protects"),
    and `withheld` when the publication does not say (one made before reasons were recorded).
    """

    def __init__(self, lang: str, threshold: int) -> None:
        self.lang = lang
        self.threshold = threshold
        self._ = translations(lang).gettext

    def count(self, value: Any) -> str:
        """A count with grouping."""
        return "—" if value is None else format_decimal(value, locale=self.lang)

    def index(self, value: Any, digits: int = 2) -> str:
        """A ratio such as a disproportionality index."""
        return "—" if value is None else format_decimal(value, format="0." + "0" * digits, locale=self.lang)

    def rate(self, value: Any) -> str:
        """A proportion as a percentage."""
        return "—" if value is None else format_percent(value, format="#,##0.0%", locale=self.lang)

    def fewer_than(self) -> str:
        """`fewer than 10`, the threshold from the rule set."""
        return self._("fewer than %(n)s") % {"n": format_decimal(self.threshold, locale=self.lang)}

    def hidden(self, reason: str | None) -> Markup:
        """A withheld count in words, marked with its reason for people and for checks."""
        if reason == SMALL:
            return Markup('<span class="suppressed" data-reason="small">%s</span>') % self.fewer_than()
        why = self._("hidden so that a smaller figure cannot be worked out")
        return Markup(
            '<span class="suppressed" data-reason="%s" title="%s">%s<a href="#withheld-note" '
            'class="footnote-ref" aria-label="%s">*</a></span>'
        ) % (reason or "unknown", why, self._("withheld"), why)

    def suppressed(self) -> str:
        """What a withheld figure shows when its reason is not known: `withheld`."""
        return self._("withheld")

    def interval(self, low: Any, high: Any, kind: str = "index") -> str:
        """A 95% confidence interval, `low–high` (`low to high` when a bound is negative)."""
        if low is None or high is None:
            return ""
        show = self.rate if kind == "rate" else self.index
        joint = charts.words(self.lang)["to"] if charts.reads_as_subtraction(low, high) else "–"
        return f"{show(low)}{joint}{show(high)}"


def reason_of(row: dict[str, Any] | None, key: str) -> str | None:
    """Why a figure of a row is hidden: the figure's own reason, else the row's (None if unsaid)."""
    if row is None:
        return None
    return row.get(f"{key}_suppressed_reason") or row.get("suppressed_reason")


def period_facts(publication: Publication, lang: str) -> dict[str, Any]:
    """The period's first and last dates in words, and whether it had closed when the data were taken.

    `meta.period` gives `first_date`, `last_date`, `partial` and `as_of`; a publication made before those
    existed falls back to the calendar bounds of its period.
    """
    period = (publication.report.get("meta") or {}).get("period") or {}
    start, end = publications.period_bounds(publication.period)
    first = _date(period.get("first_date")) or start
    last = _date(period.get("last_date")) or end
    partial = bool(period.get("partial"))
    as_of = _date(period.get("as_of")) or last
    _ = translations(lang).gettext
    words = {
        "first": format_date(first, format="long", locale=lang),
        "last": format_date(min(last, as_of) if partial else last, format="long", locale=lang),
    }
    if not partial:
        text = _("From %(first)s to %(last)s.") % words
    elif "-Q" in publication.period:
        text = _("Partial quarter: data to %(last)s.") % words
    else:
        text = _("Partial year: data to %(last)s.") % words
    return {"first": first, "last": last, "partial": partial, "text": text}


def _date(value: Any) -> date | None:
    """A YYYY-MM-DD date from a public file, or None."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def chart_reading(rows: list[dict[str, Any]], *, where: str, fmt: Formats) -> str:
    """One plain sentence that says what the group chart shows."""
    _ = fmt._
    shown = [row for row in rows if row.get("index") is not None]
    if not shown:
        return _(
            "No group's index can be published for %(area)s: each group has fewer than %(n)s engagements, "
            "or its index is withheld to protect a smaller figure."
        ) % {"area": where, "n": fmt.count(fmt.threshold)}
    top = max(shown, key=lambda row: row["index"])
    sentence = _(
        "Each dot shows how many times its share of residents a group was engaged (1 means in proportion); "
        "the highest is people perceived as %(group)s, at %(index)s times."
    ) % {"group": top["group"], "index": fmt.index(top["index"], 1)}
    missing = len(rows) - len(shown)
    if missing:
        sentence += " " + _("%(k)s of %(n)s groups have no published index.") % {
            "k": fmt.count(missing),
            "n": fmt.count(len(rows)),
        }
    return sentence


def map_reading(rows: list[dict[str, Any]], *, group: str, fmt: Formats) -> str:
    """What the division map can and cannot show for the chosen group, in words."""
    _ = fmt._
    shown = [row for row in rows if row.get("index") is not None]
    counted = [row for row in rows if row.get("count") is not None]
    values = {"group": group, "m": fmt.count(len(shown)), "n": fmt.count(len(rows)), "few": fmt.fewer_than()}
    if not rows:
        return _("There are no division figures for people perceived as %(group)s in this period.") % values
    if not shown:
        text = _(
            "No division's index for people perceived as %(group)s can be published: each division has "
            "%(few)s engagements of people perceived as %(group)s, or its figure is withheld to protect one "
            "that has. The city-wide figure is above."
        ) % values
    elif len(shown) * 2 < len(rows):
        text = _(
            "Only %(m)s of %(n)s divisions have a published index for people perceived as %(group)s "
            "(%(list)s); the others are hatched on the map: %(few)s engagements, or withheld to protect a "
            "smaller figure."
        ) % {**values, "list": ", ".join(str(row["area"]) for row in shown)}
    else:
        top = max(shown, key=lambda row: row["index"])
        text = _(
            "%(m)s of %(n)s divisions have a published index for people perceived as %(group)s; the highest "
            "is %(area)s, at %(index)s times their share of residents."
        ) % {**values, "area": top["area"], "index": fmt.index(top["index"], 1)}
    extra = [row for row in counted if row.get("index") is None]
    if map_shows_counts(rows):
        text += " " + _(
            "The map shows instead the number of engagements of people perceived as %(group)s in each "
            "division where it is published; hatched divisions have %(few)s or are withheld."
        ) % values
    elif extra:
        text += " " + _(
            "The table below still gives the number of engagements in %(list)s, where the index is withheld."
        ) % {"list": ", ".join(str(row["area"]) for row in extra)}
    return text


def area_label(area: str, lang: str) -> str:
    """`ALL` in words, or the division's code."""
    return translations(lang).gettext("all divisions") if area == ALL_AREAS else area


def period_label(period: str, lang: str) -> str:
    """A period for people: `2025`, or `2025, quarter 3`."""
    year, _, quarter = period.partition("-Q")
    if not quarter:
        return year
    return translations(lang).gettext("%(year)s, quarter %(quarter)s") % {"year": year, "quarter": quarter}


def missing_words(row: dict[str, Any], fmt: Formats) -> str | None:
    """What a chart prints for a row whose index is not published, in the page's words."""
    if row.get("index") is not None:
        return None
    if row.get("suppressed") and reason_of(row, "count") == SMALL:
        return fmt._("fewer than %(n)s engagements") % {"n": format_decimal(fmt.threshold, locale=fmt.lang)}
    if row.get("suppressed") or row.get("count") is not None:
        return fmt._("withheld")
    return fmt._("no figure")


def count_words(row: dict[str, Any], fmt: Formats) -> str | None:
    """What a map prints for a division whose count is withheld."""
    if row.get("count") is not None:
        return None
    return fmt.fewer_than() if reason_of(row, "count") == SMALL else fmt._("withheld")


def index_chart(rows: list[dict[str, Any]], *, title: str, fmt: Formats) -> dict[str, str]:
    """The index of each group with its 95% CI, as the reports draw it, with its phone-sized twin."""
    noted = [{**row, "note": missing_words(row, fmt)} for row in rows]
    chart = charts.index_chart(noted, title=title, lang=fmt.lang)
    # The phone layout: the wide chart scaled to a 390 px screen would shrink its text to 7 px.
    narrow = charts.compact_index_chart(noted, title=title, lang=fmt.lang).svg
    return {"svg": chart.svg, "alt": chart.alt, "title": chart.title, "compact": narrow}


def division_map(
    publication: Publication, figures: dict[str, Any], settings: Settings, *, title: str, fmt: Formats
) -> dict[str, str] | None:
    """The chosen group's index by division as a choropleth."""
    boundaries = settings.boundaries
    rows = figures["by_division"]
    values = {str(r["area"]): r.get("index") for r in rows}
    notes = {str(r["area"]): w for r in rows if (w := missing_words(r, fmt))}
    legend = fmt._("Disproportionality index")
    if map_shows_counts(rows):
        # Most indices are withheld but the counts are published: a map of the counts still shows where
        # engagements of the group happened, which a map of hatching would not.
        values = {str(r["area"]): r.get("count") for r in rows}
        notes = {str(r["area"]): w for r in rows if (w := count_words(r, fmt))}
        legend = fmt._("Engagements")
    chart = maps.choropleth(
        values,
        boundaries=Path(boundaries) if boundaries else None,
        code_property=settings.boundary_code,
        title=title,
        legend_title=legend,
        notes=notes,
        lang=fmt.lang,
    )
    return {"svg": chart.svg, "alt": chart.alt, "title": chart.title}


def map_shows_counts(rows: list[dict[str, Any]]) -> bool:
    """Whether the map shows engagements rather than the index: most indices withheld, more counts shown."""
    indices = sum(1 for r in rows if r.get("index") is not None)
    counts = sum(1 for r in rows if r.get("count") is not None)
    return indices * 2 < len(rows) and counts > indices


def _cached(publication: Publication, key: tuple[Any, ...], make: Any) -> Any:
    # Drawn once per publication and filters; the publication object is replaced when its files change.
    if key not in publication.rendered:
        publication.rendered[key] = make()
    return publication.rendered[key]


def downloads(
    publication: Publication, lang: str, base: str | None = None, query: str = ""
) -> list[dict[str, Any]]:
    """The publication's public files, labelled, with their addresses (under `base`) and sizes."""
    base = base or f"/public/files/{publication.period}"
    _ = translations(lang).gettext
    found = []
    for name in publication.public_files:
        if name not in FILE_LABELS and not name.startswith(f"{OPEN_DATA}/"):
            continue  # the public report's stylesheet: served, not listed
        path = publication.path / name
        label = _(FILE_LABELS[name]) if name in FILE_LABELS else name.removeprefix(f"{OPEN_DATA}/")
        try:
            size = format_decimal(max(1, round(path.stat().st_size / 1024)), locale=lang) + " KB"
        except OSError:
            continue
        found.append(
            {
                "name": name,
                "label": label,
                "url": f"{base}/{name}{query}",
                "size": size,
                "open_data": name.startswith(f"{OPEN_DATA}/"),
            }
        )
    return found


@router.get("/public", response_class=HTMLResponse)
def dashboard(
    request: Request,
    period: str | None = None,
    division: str | None = None,
    group: str | None = None,
    _principal: object = Depends(optional_page_principal),
) -> HTMLResponse:
    """The public dashboard for a period (the latest by default), one area and one group."""
    settings = settings_of(request)
    lang = pick_language(request)
    _ = translations(lang).gettext
    root = publications_root(settings)
    available = publications.list_publications(root)
    if not available:
        # Listed as published but not shown (files changed since, or unreadable): saying "nothing has
        # been published" would be untrue. The log names the files (reports/publications.py).
        withheld = sorted(publications.published_index(root), key=publications.period_order, reverse=True)
        return render(request, "dashboard.html", {"publication": None, "withheld": withheld}, lang=lang)
    chosen = next((p for p in available if p.period == period), None) if period else available[0]
    if chosen is None:
        raise HTTPException(404, "no publication for that period")
    return dashboard_page(request, chosen, available, division=division, group=group)


@router.get("/public/method", response_class=HTMLResponse)
def disclosure_method(
    request: Request, _principal: object = Depends(optional_page_principal)
) -> HTMLResponse:
    """How published figures protect people: the cell-key method's table and error, and suppression."""
    # Deferred on purpose: the cell-key release loads the analytics stack, which only this page needs.
    from fairengage.reports import cellkey, cellkey_release

    lang = pick_language(request)
    settings = settings_of(request)
    top = max(cellkey.PTABLE)  # the last row stands for every count from it up
    rows = [
        {
            "count": f"{n}+" if n == top else str(n),
            "changes": [
                {"noise": noise, "shown": n + noise if n < top else None, "chance": chance}
                for noise, chance in sorted(cellkey.PTABLE[n].items())
            ],
        }
        for n in sorted(cellkey.PTABLE)
    ]
    error = cellkey.expected_error()
    context = {
        "rows": rows,
        "method": settings.disclosure_method,
        "max_noise": cellkey.MAX_NOISE,
        "mean_absolute": format_decimal(round(error["mean_absolute"], 2), locale=lang),
        "ptable_version": cellkey_release.PTABLE_VERSION,
        "ptable_sha256": cellkey_release.ptable_sha256(),
        "percent": lambda p: format_percent(p, format="#,##0.##%", locale=lang),
    }
    return render(request, "disclosure_method.html", context, lang=lang)


def dashboard_page(
    request: Request,
    chosen: Publication,
    available: list[Publication],
    *,
    division: str | None,
    group: str | None,
    preview: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The dashboard of one release exactly as the public sees it; a preview adds only its banner."""
    settings = settings_of(request)
    lang = pick_language(request)
    _ = translations(lang).gettext
    notices = []
    if division and division not in chosen.areas:
        notices.append(_("There are no figures for division %(d)s in this period.") % {"d": division})
    if group and group not in chosen.groups:
        notices.append(_("There are no figures for that group in this period."))
    figures = publications.headline(chosen, division=division, group=group)
    fmt = Formats(lang, chosen.threshold)
    area, chosen_group = figures["area"], figures["group"]
    where = area_label(area, lang)
    when = period_label(chosen.period, lang)
    chart_title = _("Disproportionality index by group, %(area)s, %(period)s") % {
        "area": where,
        "period": when,
    }
    chart = _cached(
        chosen,
        ("index", area, chosen_group, lang),
        lambda: index_chart(figures["by_group"], title=chart_title, fmt=fmt),
    )
    map_title = _("Disproportionality index for people perceived as %(group)s, by division, %(period)s") % {
        "group": chosen_group,
        "period": when,
    }
    if map_shows_counts(figures["by_division"]):
        map_title = _("Engagements of people perceived as %(group)s, by division, %(period)s") % {
            "group": chosen_group,
            "period": when,
        }
    drawn_map = _cached(
        chosen,
        ("map", chosen_group, lang, str(settings.boundaries)),
        lambda: division_map(chosen, figures, settings, title=map_title, fmt=fmt),
    )
    context = {
        "publication": chosen,
        "publications": available,
        "figures": figures,
        "fmt": fmt,
        "where": where,
        "when": when,
        "period_label": lambda p: period_label(p, lang),
        "area_label": lambda a: area_label(a, lang),
        "measure_label": lambda m: _(MEASURES[m]) if m in MEASURES else m,
        "chart": chart,
        "chart_svg": Markup(chart["svg"]),  # noqa: S704  # nosec B704 # drawn by reports/charts.py, escaped
        "compact_svg": Markup(chart["compact"]),  # noqa: S704  # nosec B704 # as above
        "map": drawn_map,
        "map_svg": Markup(drawn_map["svg"]) if drawn_map else None,  # noqa: S704  # nosec B704 # as above
        "map_title": map_title,
        "chart_reading": chart_reading(figures["by_group"], where=where, fmt=fmt),
        "map_reading": map_reading(figures["by_division"], group=str(chosen_group), fmt=fmt),
        "period": period_facts(chosen, lang),
        "reason_of": reason_of,
        "downloads": downloads(chosen, lang, (preview or {}).get("files"), (preview or {}).get("query", "")),
        "preview": preview,
        "notices": notices,
        "may_run_reports": _may_read_reports(request),
    }
    return render(request, "dashboard.html", context, lang=lang)


def _may_read_reports(request: Request) -> bool:
    # Only decides whether to show a link; the analyst pages check the permission themselves.
    # reports/ imports nothing of access/ (nor engagements/): the web layer answers for the signed-in user.
    return signed_in_holds(request, "reports:read")


@router.get("/public/files/{period}/{path:path}")
def public_file(request: Request, period: str, path: str) -> FileResponse:
    """A public file of a publication: the public report, its JSON, or open data. Nothing else."""
    root = publications_root(settings_of(request))
    target = publications.resolve_file(root, period, path, public_only=True)
    if target is None:
        raise HTTPException(404, "no such public file")
    return file_response(target)


def file_response(target: Path) -> FileResponse:
    """A file with its type; reports open in the browser, data files download."""
    suffix = target.suffix.lower()
    media_type = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(
        target,
        media_type=media_type,
        filename=target.name,
        content_disposition_type="inline" if suffix in INLINE else "attachment",
    )
