"""Report charts as accessible, self-contained SVG: indices with confidence intervals, bars, trends.

The SVG is written by hand rather than drawn with matplotlib. The reports need things matplotlib does
not give without post-processing its output: `role="img"` with `<title>` and `<desc>` wired to
`aria-labelledby`, text kept as `<text>` (readable by screen readers, searchable in the PDF that
WeasyPrint makes), ids unique per chart so that several charts can sit in one page, classes and
`data-` attributes the tests and the dashboard can find, presentation attributes only (the pages'
Content-Security-Policy forbids inline styles, so no `<style>` and no `style=""`), and byte-for-byte
deterministic output. What matplotlib would add (font discovery, a display backend, about 40 MB) is
not needed for three kinds of chart. Text is measured with the DejaVu Sans metrics from Debian's
fonts-dejavu-core (read with fontTools, which WeasyPrint also uses) so that labels fit; nothing
is downloaded.

Colours: Okabe & Ito's colour-blind-safe palette ("Color Universal Design", 2008), darkest first so
that lines and marks keep a 3:1 contrast with the page (WCAG 2.1, 1.4.11). Colour never carries
meaning alone: every series also has its own marker shape, every value is printed as a number, and a
suppressed value is a hatched mark with the word "suppressed".
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from types import MappingProxyType
from typing import Any

from babel.numbers import format_decimal

from fairengage.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, contexted

# Okabe–Ito, ordered by contrast against white: the first five reach 3:1, the last three do not and
# are drawn with a dark outline on their markers.
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)
INK = "#1a1a1a"
MUTED = "#595959"  # 7:1 on white: secondary text stays readable (WCAG 1.4.3)
GRID = "#d9d9d9"
BAND = "#f2f2f2"
FONT_FAMILY = "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, sans-serif"
WIDTH = 640

# Where DejaVu Sans is found for measuring text: Debian's fonts-dejavu-core, then the copy matplotlib
# bundles if it happens to be installed. Without either, widths are estimated.
FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)
# Average advance of DejaVu Sans, in em, used only when no font file is found (slightly generous).
ESTIMATED_ADVANCE = 0.62

# The few words the charts write themselves; the reports' sentences live in their templates. Their French
# is in the Babel catalogue under the context "chart" (punctuation too: French spaces it differently).
# Sentences take %-style placeholders, filled with `%` like the pages' strings ("95%%" is a percent sign).
def _chart_words(pgettext: Callable[[str, str], str]) -> dict[str, str]:
    return {
        "suppressed": pgettext("chart", "suppressed"),
        "not_available": pgettext("chart", "not available"),
        "no_data": pgettext("chart", "no data"),
        "ci": pgettext("chart", "95% CI"),
        "ci_long": pgettext("chart", "95%% confidence interval") % {},
        # A Bayesian model's interval (the threshold test) is a credible interval, not a confidence one.
        "credible_long": pgettext("chart", "95%% credible interval") % {},
        "value": pgettext("chart", "value"),
        "reference": pgettext("chart", "reference"),
        "log_scale": pgettext("chart", "log scale"),
        "index": pgettext("chart", "Index"),
        "index_chart": pgettext(
            "chart",
            "Dot-and-whisker chart of %(n)s groups: each value with its 95%% confidence interval; "
            "the reference is %(ref)s.",
        ),
        "index_chart_credible": pgettext(
            "chart",
            "Dot-and-whisker chart of %(n)s groups: each value with its 95%% credible interval; "
            "the reference is %(ref)s.",
        ),
        "bar_chart": pgettext("chart", "Bar chart of %(n)s categories, in %(unit)s."),
        "trend_chart": pgettext(
            "chart", "Line chart of %(n)s series over %(m)s periods, %(first)s to %(last)s."
        ),
        # Translators: the colon between a label and its value, spaces included.
        "colon": pgettext("chart", ": "),
        # Translators: the semicolon between two items of a list, spaces included.
        "semicolon": pgettext("chart", "; "),
        # Translators: between the two ends of a range ("1.2 to 3.4"), spaces included.
        "to": pgettext("chart", " to "),
    }


@dataclass(frozen=True)
class Chart:
    """An SVG chart with its text alternative and title."""

    svg: str
    alt: str
    title: str


def finite(value: Any) -> float | None:
    """A number, or None for a missing, suppressed, NaN or infinite one (pandas gives NaN and pd.NA)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def words(lang: str) -> Mapping[str, str]:
    """The chart vocabulary in a language (English when the language is not known)."""
    return _words(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


@lru_cache(maxsize=len(LANGUAGES))
def _words(lang: str) -> Mapping[str, str]:
    # Read-only: one copy serves every chart of the process.
    return MappingProxyType(_chart_words(contexted(lang)))


def format_number(value: float, lang: str = "en", *, decimals: int | None = None) -> str:
    """A number as a reader of that language writes it: grouped thousands, fixed or trimmed decimals."""
    locale = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    if decimals is not None:
        pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    elif float(value).is_integer():
        pattern = "#,##0"
    else:
        pattern = "#,##0.0#"
    return format_decimal(value, format=pattern, locale=locale)


@lru_cache
def _font_metrics() -> tuple[dict[int, int], int] | None:
    """Advance widths by code point and units per em of DejaVu Sans, or None if it is not installed."""
    # Deferred: fontTools loads once, when the first chart is measured (the result is cached).
    from fontTools.ttLib import TTFont

    for path in (*FONT_FILES, *_matplotlib_font()):
        if path.is_file():
            font = TTFont(path, lazy=True)
            hmtx = font["hmtx"]
            advances = {code: hmtx[glyph][0] for code, glyph in font.getBestCmap().items()}
            return advances, font["head"].unitsPerEm
    return None


def _matplotlib_font() -> tuple[Path, ...]:
    """The DejaVu Sans that matplotlib bundles, when matplotlib is installed (it is not required)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return ()
    return (Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf",)


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width in pixels of a line of DejaVu Sans at a font size (bold is about 10% wider)."""
    metrics = _font_metrics()
    if metrics is None:
        width = len(text) * ESTIMATED_ADVANCE * size
    else:
        advances, per_em = metrics
        fallback = round(ESTIMATED_ADVANCE * per_em)
        width = sum(advances.get(ord(ch), fallback) for ch in text) * size / per_em
    return width * (1.1 if bold else 1.0)


def wrap(text: str, size: float, max_width: float, *, bold: bool = False) -> list[str]:
    """Greedy word wrap of a line of text to a width."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and text_width(candidate, size, bold=bold) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines or [""]


def chart_uid(kind: str, *parts: Any) -> str:
    """A short id prefix derived from the chart's content, so that ids differ between charts of a page."""
    digest = hashlib.sha256(repr((kind, parts)).encode()).hexdigest()[:10]
    return f"fe{kind[:3]}{digest}"


def attrs(**values: Any) -> str:
    """SVG attributes from keyword arguments: `class_` gives class, `font_size` gives font-size."""
    out = []
    for key, value in values.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = f"{value:.1f}".rstrip("0").rstrip(".")
        out.append(f'{name}="{escape(str(value), quote=True)}"')
    return " ".join(out)


def text(x: float, y: float, content: str, *, size: float = 12, anchor: str = "start", **extra: Any) -> str:
    """A `<text>` element in the chart font."""
    extra.setdefault("fill", INK)
    return (
        f"<text {attrs(x=x, y=y, font_size=size, text_anchor=anchor, **extra)}>{escape(content, quote=False)}"
        "</text>"
    )


def hatch_pattern(pattern_id: str) -> str:
    """A diagonal grey hatch on white: the mark for a suppressed or missing value."""
    return (
        f'<pattern id="{pattern_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MUTED}" stroke-width="2"/></pattern>'
    )


def svg_document(
    *,
    uid: str,
    width: float,
    height: float,
    title: str,
    desc: str,
    body: Iterable[str],
    lang: str,
    defs: str = "",
) -> str:
    """A self-contained SVG element: role img, title and desc for assistive technology, a viewBox to scale."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" {attrs(viewBox=f"0 0 {width:.0f} {height:.0f}")} '
        f'role="img" aria-labelledby="{uid}-title {uid}-desc" lang="{escape(lang)}" '
        f'font-family="{FONT_FAMILY}" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{uid}-title">{escape(title, quote=False)}</title>'
        f'<desc id="{uid}-desc">{escape(desc, quote=False)}</desc>'
    )
    defs_part = f"<defs>{defs}</defs>" if defs else ""
    background = f'<rect {attrs(width=width, height=height)} fill="#ffffff"/>'
    return head + defs_part + background + "".join(body) + "</svg>"


# Row labels wider than this wrap onto two lines (at a smaller size), so that the plot keeps its width.
LABEL_MAX = 200.0


def row_label(x: float, y: float, label: str) -> str:
    """A row's label, right-aligned at x and centred on y; a long one wraps onto two lines in one `<text>`."""
    if text_width(label, 13) <= LABEL_MAX:
        return text(x, y + 4.5, label, size=13, anchor="end")
    lines = wrap(label, 11, LABEL_MAX)
    if len(lines) > 2:  # a third line would not fit the row: keep two, the rest in the text alternative
        lines = [lines[0], " ".join(lines[1:])]
    # The trailing space keeps the words apart for screen readers and PDF search.
    spans = "".join(
        f"<tspan {attrs(x=x, dy=12 if i else 0)}>{escape(line + ('' if i else ' '), quote=False)}</tspan>"
        for i, line in enumerate(lines)
    )
    return (
        f"<text {attrs(x=x, y=y + 4 - 6 * (len(lines) - 1), font_size=11, text_anchor='end', fill=INK)}>"
        f"{spans}</text>"
    )


def title_block(title: str, *, y: float = 26, size: float = 16) -> tuple[list[str], float]:
    """The visible title, wrapped to the chart width; returns the elements and the y below it."""
    lines = wrap(title, size, WIDTH - 32, bold=True)
    elements = [
        text(16, y + i * size * 1.3, line, size=size, font_weight="bold") for i, line in enumerate(lines)
    ]
    return elements, y + (len(lines) - 1) * size * 1.3 + 14


# --- scales -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """A value axis mapped onto pixels, linear or logarithmic."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False
    ticks: tuple[float, ...] = ()

    def at(self, value: float) -> float:
        """The pixel position of a value."""
        if self.log:
            share = (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        else:
            share = (value - self.low) / (self.high - self.low)
        return self.start + share * (self.end - self.start)


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals over a span."""
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power  # pragma: no cover - the loop always returns


def linear_axis(low: float, high: float, start: float, end: float, *, count: int = 5) -> Axis:
    """A linear axis widened to round ticks that cover the values."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    step = nice_step(high - low, count)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    ticks = tuple(round(first + i * step, 10) for i in range(round((last - first) / step) + 1))
    return Axis(first, last, start, end, False, ticks)


# Tick ladders for ratios, tried in order: doublings read as "twice as likely", then finer ones when the
# values span too little for doublings to give three ticks.
LOG_LADDERS = ((1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0))


def log_axis(low: float, high: float, start: float, end: float) -> Axis:
    """A logarithmic axis (for ratios: 0.5 and 2 lie at equal distances from 1) with readable ticks."""
    low, high = low / 1.15, high * 1.15
    ticks: list[float] = []
    for ladder in LOG_LADDERS:
        ticks = []
        for exponent in range(-6, 7):
            for mantissa in ladder:
                # Doublings run both ways from 1 (…0.25, 0.5, 1, 2, 4…); the others repeat per decade.
                value = mantissa * 2.0**exponent if ladder is LOG_LADDERS[0] else mantissa * 10.0**exponent
                if low <= value <= high:
                    ticks.append(round(value, 6))
        ticks = sorted(set(ticks))
        if len(ticks) >= 3:
            break
    if len(ticks) > 7:
        ticks = ticks[:: math.ceil(len(ticks) / 7)]
    return Axis(low, high, start, end, True, tuple(ticks))


def tick_label(value: float, lang: str) -> str:
    """A tick value without needless decimals."""
    return format_decimal(value, format="#,##0.###", locale=lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


# --- index chart ------------------------------------------------------------------------------------


def _is_suppressed(row: dict[str, Any], value_key: str) -> bool:
    """A missing value is taken as suppressed unless the row says explicitly that it is not."""
    return row.get(value_key) is None and row.get("suppressed", True) is not False


def _missing(row: dict[str, Any], value_key: str, lang: str) -> str:
    """The words for a missing value: the caller's own (`note`, e.g. "fewer than 10"), else generic ones."""
    if row.get("note"):
        return str(row["note"])
    return words(lang)["suppressed"] if _is_suppressed(row, value_key) else words(lang)["not_available"]


def _value_phrase(
    row: dict[str, Any], keys: tuple[str, str, str], lang: str, *, credible: bool = False
) -> str:
    """A row's value and interval in words, e.g. "2.40 (95% CI 2.30 to 2.50)"."""
    value_key, low_key, high_key = keys
    w = words(lang)
    if row.get(value_key) is None:
        return _missing(row, value_key, lang)
    phrase = format_number(row[value_key], lang, decimals=2)
    if row.get(low_key) is not None and row.get(high_key) is not None:
        low = format_number(row[low_key], lang, decimals=2)
        high = format_number(row[high_key], lang, decimals=2)
        phrase += f" ({w['credible_long' if credible else 'ci']} {low}{w['to']}{high})"
    return phrase


def reads_as_subtraction(low: float, high: float) -> bool:
    """Whether "low–high" would read as a subtraction ("-1.28–-0.06"): such an interval says "to".

    The one rule for the charts, the readings (`Reader.interval`) and the dashboard."""
    return min(low, high) < 0


def _short_value(row: dict[str, Any], keys: tuple[str, str, str], lang: str) -> str:
    """The printed value beside a row: "2.40 (2.30–2.50)"."""
    value_key, low_key, high_key = keys
    if row.get(value_key) is None:
        return _missing(row, value_key, lang)
    short = format_number(row[value_key], lang, decimals=2)
    if row.get(low_key) is not None and row.get(high_key) is not None:
        low = format_number(row[low_key], lang, decimals=2)
        high = format_number(row[high_key], lang, decimals=2)
        joint = words(lang)["to"] if reads_as_subtraction(row[low_key], row[high_key]) else "–"
        short += f" ({low}{joint}{high})"
    return short


def suppressed_mark(
    x: float, y: float, pattern: str, lang: str, *, size: float = 12, label: str | None = None
) -> str:
    """A hatched square and the word "suppressed" (or the caller's), left-aligned at x and centred on y."""
    word = label or words(lang)["suppressed"]
    return (
        f'<g class="suppressed"><rect {attrs(x=x, y=y - size / 2, width=size, height=size)} '
        f'fill="url(#{pattern})" stroke="{MUTED}" stroke-width="1"/>'
        + text(x + size + 6, y + 4, word, size=12, fill=MUTED, font_style="italic")
        + "</g>"
    )


def _index_preamble(
    kind: str,
    rows: list[dict[str, Any]],
    title: str,
    keys: tuple[str, str, str],
    label_key: str,
    reference: float,
    lang: str,
) -> tuple[list[dict[str, Any]], str, list[float], bool]:
    """What both index charts start from: the rows with finite figures, the chart's id, every value to fit
    on the axis (of the rows with a value, and the reference line) and whether a log axis fits them."""
    rows = [{**row, **{k: finite(row.get(k)) for k in keys}} for row in rows]
    uid = chart_uid(kind, title, rows, keys, label_key, reference, lang)
    shown = [row for row in rows if row.get(keys[0]) is not None]
    values = [reference] + [row[k] for row in shown for k in keys if row[k] is not None]
    return rows, uid, values, all(v > 0 for v in values)


def index_chart(
    rows: list[dict[str, Any]],
    *,
    title: str,
    value_key: str = "index",
    low_key: str = "ci_low",
    high_key: str = "ci_high",
    label_key: str = "group",
    reference: float = 1.0,
    lang: str = "en",
    axis_title: str | None = None,
    credible: bool = False,
) -> Chart:
    """A horizontal dot-and-whisker chart of indices with their 95% CIs and a dashed reference line.

    The axis is titled `axis_title` (already in the chart's language), else after `value_key`.
    `credible`: the intervals are a Bayesian model's credible intervals, and the key and text say so."""
    w = words(lang)
    interval = w["credible_long" if credible else "ci_long"]
    keys = (value_key, low_key, high_key)
    rows, uid, values, use_log = _index_preamble("index", rows, title, keys, label_key, reference, lang)
    hatch = f"{uid}-hatch"
    labels = [str(row.get(label_key, "")) for row in rows]

    body, y = title_block(title)
    # A key to the marks, so the chart can be read without the surrounding text.
    key_y = y + 14
    body.append(f'<circle {attrs(cx=22, cy=key_y - 4, r=5)} fill="{OKABE_ITO[0]}"/>')
    body.append(text(32, key_y, w["value"], size=12, fill=MUTED))
    kx = 40 + text_width(w["value"], 12) + 16
    body.append(_whisker(kx, kx + 30, key_y - 4, OKABE_ITO[0]))
    body.append(text(kx + 38, key_y, interval, size=12, fill=MUTED))
    kx += 38 + text_width(interval, 12) + 16
    body.append(
        f'<line {attrs(x1=kx, y1=key_y - 11, x2=kx, y2=key_y + 3)} stroke="{INK}" stroke-dasharray="4 3"/>'
    )
    body.append(text(kx + 8, key_y, f"{w['reference']} ({tick_label(reference, lang)})", size=12, fill=MUTED))

    row_height = 30
    top = key_y + 18
    label_width = max((text_width(label, 13) for label in labels), default=0)
    left = 16 + min(label_width, LABEL_MAX) + 12
    value_width = max([text_width(_short_value(row, keys, lang), 12) for row in rows] + [0])
    right = WIDTH - 16 - value_width - 12
    axis = (log_axis if use_log else linear_axis)(min(values), max(values), left + 8, right - 8)
    bottom = top + row_height * max(len(rows), 1)

    for tick in axis.ticks:
        x = axis.at(tick)
        body.append(f'<line class="grid" {attrs(x1=x, y1=top, x2=x, y2=bottom)} stroke="{GRID}"/>')
    for i, (row, label) in enumerate(zip(rows, labels, strict=True)):
        cy = top + row_height * i + row_height / 2
        if i % 2 == 0:  # banding helps the eye travel from a label to its mark and number
            body.append(
                f"<rect {attrs(x=16, y=cy - row_height / 2, width=WIDTH - 32, height=row_height)} "
                f'fill="{BAND}" fill-opacity="0.6"/>'
            )
        body.append(row_label(left - 12, cy, label))
        group = escape(label, quote=True)
        if row.get(value_key) is None:
            body.append(suppressed_mark(axis.start, cy, hatch, lang, label=_missing(row, value_key, lang)))
        else:
            if row.get(low_key) is not None and row.get(high_key) is not None:
                body.append(
                    f'<g class="ci" data-group="{group}">'
                    + _whisker(axis.at(float(row[low_key])), axis.at(float(row[high_key])), cy, OKABE_ITO[0])
                    + "</g>"
                )
            body.append(
                f'<circle class="point" data-group="{group}" '
                f"{attrs(cx=axis.at(float(row[value_key])), cy=cy, r=5.5)} "
                f'fill="{OKABE_ITO[0]}" stroke="#ffffff" stroke-width="1.5"/>'
            )
        body.append(
            text(
                right + 12,
                cy + 4.5,
                _short_value(row, keys, lang),
                size=12,
                fill=INK if row.get(value_key) is not None else MUTED,
            )
        )
    ref_x = axis.at(reference)
    body.append(
        f'<line class="reference" {attrs(x1=ref_x, y1=top - 4, x2=ref_x, y2=bottom)} '
        f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3"/>'
    )
    body.extend(_x_axis(axis, bottom, lang))
    if axis_title is None:
        axis_title = value_key.replace("_", " ").capitalize() if value_key != "index" else w["index"]
    if axis.log:
        axis_title += f" ({w['log_scale']})"
    body.append(
        text((axis.start + axis.end) / 2, bottom + 40, axis_title, size=12, anchor="middle", fill=MUTED)
    )
    height = bottom + 56

    ref_text = tick_label(reference, lang)
    described = w["index_chart_credible" if credible else "index_chart"]
    alt = f"{title}. " + described % {"n": len(rows), "ref": ref_text} + " "
    alt += (
        w["semicolon"].join(
            f"{label}{w['colon']}{_value_phrase(row, keys, lang, credible=credible)}"
            for row, label in zip(rows, labels, strict=True)
        )
        + "."
    )
    svg = svg_document(
        uid=uid,
        width=WIDTH,
        height=height,
        title=title,
        desc=alt,
        body=body,
        lang=lang,
        defs=hatch_pattern(hatch),
    )
    return Chart(svg=svg, alt=alt, title=title)


# The phone layout of the index chart: drawn this wide, it is shown near 1:1 on a 390 px screen, so its
# smallest text (COMPACT_FONT user units) stays at least 12 px as rendered (WCAG 1.4.4 in spirit).
COMPACT_WIDTH = 360
COMPACT_FONT = 13.5


def compact_index_chart(
    rows: list[dict[str, Any]],
    *,
    title: str,
    value_key: str = "index",
    low_key: str = "ci_low",
    high_key: str = "ci_high",
    label_key: str = "group",
    reference: float = 1.0,
    lang: str = "en",
) -> Chart:
    """The index chart for a narrow screen: each row's label and value on one line, its mark below."""
    w = words(lang)
    keys = (value_key, low_key, high_key)
    rows, uid, values, use_log = _index_preamble("cindex", rows, title, keys, label_key, reference, lang)
    hatch = f"{uid}-hatch"
    size, width = COMPACT_FONT, COMPACT_WIDTH
    lines = wrap(title, size + 2, width - 24, bold=True)
    body = [
        text(12, 22 + i * (size + 2) * 1.3, line, size=size + 2, font_weight="bold")
        for i, line in enumerate(lines)
    ]
    y = 22 + (len(lines) - 1) * (size + 2) * 1.3 + 10
    if use_log:
        axis = log_axis(min(values), max(values), 24, width - 24)
    else:
        axis = linear_axis(min(values), max(values), 24, width - 24, count=4)
    # The key, one item a line: the dashed line is the reference.
    key_y = y + size + 4
    body.append(
        f'<line {attrs(x1=12, y1=key_y - 12, x2=12, y2=key_y + 2)} stroke="{INK}" stroke-dasharray="4 3"/>'
    )
    body.append(text(20, key_y, f"{w['reference']} ({tick_label(reference, lang)})", size=size, fill=MUTED))
    top = key_y + 12
    row_height = size * 3.4
    bottom = top + row_height * max(len(rows), 1)
    for tick in axis.ticks:
        x = axis.at(tick)
        body.append(f'<line class="grid" {attrs(x1=x, y1=top, x2=x, y2=bottom)} stroke="{GRID}"/>')
    for i, row in enumerate(rows):
        row_top = top + row_height * i
        if i % 2 == 0:
            body.append(
                f"<rect {attrs(x=4, y=row_top, width=width - 8, height=row_height)} "
                f'fill="{BAND}" fill-opacity="0.6"/>'
            )
        label = str(row.get(label_key, ""))
        value = _short_value(row, keys, lang)
        label_room = width - 24 - text_width(value, size) - 12
        label_lines = wrap(label, size, label_room)
        shortened = label_lines[0] + ("…" if len(label_lines) > 1 else "")
        body.append(text(12, row_top + size + 4, shortened, size=size))
        present = row.get(value_key) is not None
        ink = INK if present else MUTED
        body.append(text(width - 12, row_top + size + 4, value, size=size, anchor="end", fill=ink))
        cy = row_top + row_height - size * 0.9
        group = escape(label, quote=True)
        if not present:
            body.append(
                f'<rect {attrs(x=24, y=cy - 5, width=width - 48, height=10)} fill="url(#{hatch})" '
                f'stroke="{MUTED}" stroke-width="0.5"/>'
            )
            continue
        if row.get(low_key) is not None and row.get(high_key) is not None:
            body.append(
                f'<g class="ci" data-group="{group}">'
                + _whisker(axis.at(float(row[low_key])), axis.at(float(row[high_key])), cy, OKABE_ITO[0])
                + "</g>"
            )
        body.append(
            f'<circle class="point" data-group="{group}" '
            f"{attrs(cx=axis.at(float(row[value_key])), cy=cy, r=6)} "
            f'fill="{OKABE_ITO[0]}" stroke="#ffffff" stroke-width="1.5"/>'
        )
    ref_x = axis.at(reference)
    body.append(
        f'<line class="reference" {attrs(x1=ref_x, y1=top - 4, x2=ref_x, y2=bottom)} '
        f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3"/>'
    )
    body.append(f'<line {attrs(x1=16, y1=bottom, x2=width - 16, y2=bottom)} stroke="{INK}"/>')
    for tick in axis.ticks:
        label = tick_label(tick, lang)
        body.append(text(axis.at(tick), bottom + size + 6, label, size=size, anchor="middle"))
    axis_title = w["index"] + (f" ({w['log_scale']})" if axis.log else "")
    body.append(text(width / 2, bottom + 2 * size + 14, axis_title, size=size, anchor="middle", fill=MUTED))
    height = bottom + 2 * size + 24
    alt = f"{title}. " + w["index_chart"] % {"n": len(rows), "ref": tick_label(reference, lang)} + " "
    alt += w["semicolon"].join(
        f"{row.get(label_key, '')}{w['colon']}{_value_phrase(row, keys, lang)}" for row in rows
    ) + "."
    svg = svg_document(
        uid=uid, width=width, height=height, title=title, desc=alt, body=body, lang=lang,
        defs=hatch_pattern(hatch),
    )
    return Chart(svg=svg, alt=alt, title=title)


def _whisker(x1: float, x2: float, y: float, colour: str) -> str:
    """A horizontal interval line with short end caps."""
    return (
        f'<line {attrs(x1=x1, y1=y, x2=x2, y2=y)} stroke="{colour}" stroke-width="2"/>'
        f'<line {attrs(x1=x1, y1=y - 5, x2=x1, y2=y + 5)} stroke="{colour}" stroke-width="2"/>'
        f'<line {attrs(x1=x2, y1=y - 5, x2=x2, y2=y + 5)} stroke="{colour}" stroke-width="2"/>'
    )


def _x_axis(axis: Axis, y: float, lang: str) -> list[str]:
    """A horizontal axis line with ticks and their labels."""
    out = [f'<line {attrs(x1=axis.start - 8, y1=y, x2=axis.end + 8, y2=y)} stroke="{INK}"/>']
    for tick in axis.ticks:
        x = axis.at(tick)
        out.append(
            f'<g class="tick" data-value="{tick!r}">'
            f'<line {attrs(x1=x, y1=y, x2=x, y2=y + 5)} stroke="{INK}"/>'
            + text(x, y + 19, tick_label(tick, lang), size=12, anchor="middle")
            + "</g>"
        )
    return out


# --- bar chart --------------------------------------------------------------------------------------


def bar_chart(
    labels: Sequence[str], values: Sequence[float | None], *, title: str, unit: str, lang: str = "en"
) -> Chart:
    """Horizontal bars with each value printed at its end; a None is drawn as suppressed."""
    if len(labels) != len(values):
        raise ValueError(f"bar_chart: {len(labels)} labels but {len(values)} values")
    w = words(lang)
    values = [finite(v) for v in values]
    uid = chart_uid("bar", title, list(labels), list(values), unit, lang)
    hatch = f"{uid}-hatch"
    body, y = title_block(title)
    row_height = 28
    top = y + 8
    left = 16 + min(max((text_width(str(label), 13) for label in labels), default=0), LABEL_MAX) + 12
    printed = [format_number(v, lang) if v is not None else w["suppressed"] for v in values]
    right = WIDTH - 16 - max((text_width(p, 12) for p in printed), default=0) - 8
    present = [float(v) for v in values if v is not None]
    axis = linear_axis(min([0.0, *present]), max([0.0, *present]), left, right)
    bottom = top + row_height * max(len(labels), 1)
    for tick in axis.ticks:
        x = axis.at(tick)
        body.append(f'<line class="grid" {attrs(x1=x, y1=top, x2=x, y2=bottom)} stroke="{GRID}"/>')
    zero = axis.at(0.0)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        cy = top + row_height * i + row_height / 2
        body.append(row_label(left - 12, cy, str(label)))
        if value is None:
            body.append(suppressed_mark(zero + 2, cy, hatch, lang))
            continue
        x = axis.at(float(value))
        body.append(
            f'<rect class="bar" data-label="{escape(str(label), quote=True)}" '
            f'{attrs(x=min(x, zero), y=cy - 9, width=abs(x - zero), height=18)} fill="{OKABE_ITO[0]}"/>'
        )
        body.append(text(max(x, zero) + 6, cy + 4.5, printed[i], size=12))
    body.append(f'<line {attrs(x1=zero, y1=top, x2=zero, y2=bottom)} stroke="{INK}"/>')
    body.extend(_x_axis(axis, bottom, lang))
    body.append(text((axis.start + axis.end) / 2, bottom + 40, unit, size=12, anchor="middle", fill=MUTED))
    height = bottom + 56
    alt = f"{title}. " + w["bar_chart"] % {"n": len(labels), "unit": unit} + " "
    alt += (
        w["semicolon"].join(f"{label}{w['colon']}{p}" for label, p in zip(labels, printed, strict=True)) + "."
    )
    svg = svg_document(
        uid=uid,
        width=WIDTH,
        height=height,
        title=title,
        desc=alt,
        body=body,
        lang=lang,
        defs=hatch_pattern(hatch),
    )
    return Chart(svg=svg, alt=alt, title=title)


# --- trend chart ------------------------------------------------------------------------------------

MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "plus", "cross", "star")


def marker(shape: str, x: float, y: float, colour: str, *, size: float = 5.0) -> str:
    """A marker shape centred on (x, y); light colours get a dark outline so the shape stays visible."""
    outline = INK if colour in OKABE_ITO[5:] else "#ffffff"
    paint = f'fill="{colour}" stroke="{outline}" stroke-width="1"'
    s = size
    points: list[tuple[float, float]]
    if shape == "circle":
        return f"<circle {attrs(cx=x, cy=y, r=s)} {paint}/>"
    if shape == "square":
        return f"<rect {attrs(x=x - s * 0.9, y=y - s * 0.9, width=s * 1.8, height=s * 1.8)} {paint}/>"
    if shape == "triangle":
        points = [(x, y - s * 1.2), (x + s * 1.1, y + s * 0.8), (x - s * 1.1, y + s * 0.8)]
    elif shape == "triangle-down":
        points = [(x, y + s * 1.2), (x + s * 1.1, y - s * 0.8), (x - s * 1.1, y - s * 0.8)]
    elif shape == "diamond":
        points = [(x, y - s * 1.3), (x + s, y), (x, y + s * 1.3), (x - s, y)]
    elif shape == "plus":
        t = s * 0.4
        points = [
            (x - t, y - s),
            (x + t, y - s),
            (x + t, y - t),
            (x + s, y - t),
            (x + s, y + t),
            (x + t, y + t),
            (x + t, y + s),
            (x - t, y + s),
            (x - t, y + t),
            (x - s, y + t),
            (x - s, y - t),
            (x - t, y - t),
        ]
    elif shape == "cross":
        return marker("plus", x, y, colour, size=size).replace(
            "<polygon ", f'<polygon transform="rotate(45 {x:.1f} {y:.1f})" '
        )
    else:  # star
        points = []
        for k in range(10):
            r = s * 1.3 if k % 2 == 0 else s * 0.55
            angle = math.pi / 2 + k * math.pi / 5
            points.append((x + r * math.cos(angle), y - r * math.sin(angle)))
    coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    return f'<polygon points="{coords}" {paint}/>'


def trend_chart(
    periods: Sequence[str], series: dict[str, list[float | None]], *, title: str, lang: str = "en"
) -> Chart:
    """Lines over periods, one colour and marker shape per series; a None breaks the line and is marked."""
    for name, points in series.items():
        if len(points) != len(periods):
            raise ValueError(
                f"trend_chart: series {name!r} has {len(points)} values for {len(periods)} periods"
            )
    w = words(lang)
    series = {name: [finite(v) for v in points] for name, points in series.items()}
    uid = chart_uid("trend", title, list(periods), series, lang)
    hatch = f"{uid}-hatch"
    body, y = title_block(title)

    # Legend: colour, marker and name for every series, wrapped over as many lines as needed.
    lx, ly = 16.0, y + 12
    for i, name in enumerate(series):
        colour, shape = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
        item = 34 + text_width(name, 12) + 18
        if lx + item > WIDTH - 16 and lx > 16:
            lx, ly = 16.0, ly + 20
        body.append(
            f'<g class="legend-item" data-series="{escape(name, quote=True)}">'
            f'<line {attrs(x1=lx, y1=ly - 4, x2=lx + 26, y2=ly - 4)} stroke="{colour}" stroke-width="2.5" '
            f"{_dash(i)}/>"
            + marker(shape, lx + 13, ly - 4, colour)
            + text(lx + 32, ly, name, size=12)
            + "</g>"
        )
        lx += item
    if any(v is None for points in series.values() for v in points):
        if lx + 120 > WIDTH - 16:
            lx, ly = 16.0, ly + 20
        body.append(suppressed_mark(lx, ly - 4, hatch, lang))

    present = [float(v) for points in series.values() for v in points if v is not None]
    top = ly + 22
    plot_height = 220
    bottom = top + plot_height
    low = min([0.0, *present]) if present else 0.0
    high = max(present) if present else 1.0
    yaxis = linear_axis(low, high, bottom, top)
    left = 16 + max((text_width(tick_label(t, lang), 12) for t in yaxis.ticks), default=0) + 10
    right = WIDTH - 24
    step = (right - left) / max(len(periods), 1)
    xs = [left + step * (i + 0.5) for i in range(len(periods))]

    for tick in yaxis.ticks:
        ty = yaxis.at(tick)
        body.append(
            f'<g class="tick" data-value="{tick!r}"><line {attrs(x1=left, y1=ty, x2=right, y2=ty)} '
            f'stroke="{GRID}"/>'
            + text(left - 6, ty + 4, tick_label(tick, lang), size=12, anchor="end")
            + "</g>"
        )
    body.append(f'<line {attrs(x1=left, y1=bottom, x2=right, y2=bottom)} stroke="{INK}"/>')
    # Period labels: every one when they fit, otherwise every k-th (the first and last always shown).
    widest = max((text_width(p, 11) for p in periods), default=0)
    every = max(1, math.ceil((widest + 8) / step)) if step else 1
    for i, (period, x) in enumerate(zip(periods, xs, strict=True)):
        if i % every == 0 or i == len(periods) - 1:
            body.append(f'<line {attrs(x1=x, y1=bottom, x2=x, y2=bottom + 5)} stroke="{INK}"/>')
            body.append(text(x, bottom + 18, period, size=11, anchor="middle"))

    gaps: set[int] = set()
    for i, (name, points) in enumerate(series.items()):
        colour, shape = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
        segments: list[list[tuple[float, float]]] = [[]]
        for j, value in enumerate(points):
            if value is None:
                gaps.add(j)
                segments.append([])
            else:
                segments[-1].append((xs[j], yaxis.at(float(value))))
        group = [f'<g class="series" data-series="{escape(name, quote=True)}">']
        for segment in segments:
            if len(segment) > 1:
                d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in segment)
                group.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2.5" {_dash(i)}/>')
        for j, value in enumerate(points):
            if value is not None:
                group.append(marker(shape, xs[j], yaxis.at(float(value)), colour))
        body.append("".join(group) + "</g>")
    # A gap in a line is marked on the baseline by a hatched box holding the markers of the series that
    # are suppressed there, so the reader can tell which line is missing without relying on colour.
    names = list(series)
    for j in sorted(gaps):
        missing = [i for i, name in enumerate(names) if series[name][j] is None]
        box_height = 18 * len(missing) + 4
        mark = [
            f'<g class="gap" data-period="{escape(periods[j], quote=True)}">'
            f"<rect {attrs(x=xs[j] - 10, y=bottom - box_height - 2, width=20, height=box_height)} "
            f'fill="url(#{hatch})" stroke="{MUTED}"/>'
        ]
        for k, i in enumerate(missing):
            # A white disc under each marker lifts it off the hatching.
            mark.append(f'<circle {attrs(cx=xs[j], cy=bottom - 13 - 18 * k, r=7.5)} fill="#ffffff"/>')
            mark.append(
                marker(
                    MARKERS[i % len(MARKERS)],
                    xs[j],
                    bottom - 13 - 18 * k,
                    OKABE_ITO[i % len(OKABE_ITO)],
                    size=4.5,
                )
            )
        body.append("".join(mark) + "</g>")
    height = bottom + 36

    first, last = (periods[0], periods[-1]) if periods else ("", "")
    counts = {"n": len(series), "m": len(periods), "first": first, "last": last}
    alt = f"{title}. " + w["trend_chart"] % counts + " "
    parts = []
    for name, points in series.items():
        said = ", ".join(
            f"{p} {format_number(v, lang) if v is not None else w['suppressed']}"
            for p, v in zip(periods, points, strict=True)
        )
        parts.append(f"{name}{w['colon']}{said}")
    alt += w["semicolon"].join(parts) + "."
    svg = svg_document(
        uid=uid,
        width=WIDTH,
        height=height,
        title=title,
        desc=alt,
        body=body,
        lang=lang,
        defs=hatch_pattern(hatch),
    )
    return Chart(svg=svg, alt=alt, title=title)


def _dash(index: int) -> str:
    """Solid lines for the first eight series, dashed once the palette repeats."""
    return 'stroke-dasharray="6 3"' if index >= len(OKABE_ITO) else ""
