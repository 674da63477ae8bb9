"""Receipt rendering: the printable PDF, the QR code of the check page, and dates in the reader's language.

What a receipt must say comes from O. Reg. 58/16 s.7 (docs/rule-sets.md, RECEIPT-CONTENT): the officer's name
and badge number; date, time and place; how to reach the independent complaints body; how to ask for
one's own information; and a unique reference code. Every label is in English and, in the Babel
catalogue (`web/locales/fr/LC_MESSAGES/messages.po`, context "receipt"), in French.

The PDF is made the way the reports are (WeasyPrint, tagged PDF/UA-1) from `receipt_pdf.html` and
`receipt_pdf.css`. WeasyPrint's font set-up and the parsed stylesheet are made once per process and
reused: re-reading the fonts on every receipt once cost about half of each render.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import segno
from babel.dates import format_datetime, get_date_format, get_datetime_format, get_time_format

from fairengage.shipped import shipped
from fairengage.web.i18n import contexted
from fairengage.web.templating import environment

LANGUAGES = ("en", "fr")


def labels(lang: str) -> dict[str, str]:
    """Every label a receipt prints, in the language (the page, the printout and the PDF share them)."""
    _require_lang(lang)
    # The context keeps the receipt's wording apart from the same English words on other pages
    # ("Officer" is "Agent" there, "Agent de police" on a receipt).
    pgettext = contexted(lang)
    return {
        "heading": pgettext("receipt", "Community engagement receipt"),
        "code": pgettext("receipt", "Reference code"),
        "officer": pgettext("receipt", "Officer"),
        "badge": pgettext("receipt", "Badge number"),
        "division": pgettext("receipt", "Division"),
        "when": pgettext("receipt", "Date and time"),
        "place": pgettext("receipt", "Place"),
        "not_required": pgettext(
            "receipt",
            "You were not required to answer the officer's questions or to give any identifying information.",
        ),
        "check": pgettext("receipt", "Check that this receipt is genuine at:"),
        "complain_heading": pgettext("receipt", "To make a complaint"),
        "complain": pgettext(
            "receipt",
            "You can make a complaint about this interaction to the {name}, which is independent of the "
            "police service: {website}, {phone}.",
        ),
        "own_record_heading": pgettext("receipt", "To ask for your own information"),
        "qr_title": pgettext("receipt", "QR code linking to the receipt check page {url}"),
    }


class _Labels(Mapping[str, dict[str, str]]):
    """`LABELS[lang]`, read from the catalogue: what the receipt pages have always looked up."""

    def __getitem__(self, lang: str) -> dict[str, str]:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        return labels(lang)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


LABELS: Mapping[str, dict[str, str]] = _Labels()

# Canadian locales: Ontario receipts read dates the Canadian way in both languages.
_LOCALES = {"en": "en_CA", "fr": "fr_CA"}
_PDF_LANGS = {"en": "en-CA", "fr": "fr-CA"}

QR_SVG_PIXELS = 200
# Medium error correction survives a creased or smudged paper receipt; segno raises it when it fits.
_QR_ERROR = "m"
_QR_PDF_PNG_SCALE = 8
_HERE = shipped("receipts")
_STYLESHEET = _HERE / "receipt_pdf.css"
# WeasyPrint's font objects are shared by every render; one receipt at a time keeps them consistent.
_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class ReceiptView:
    """Everything printed on one receipt, already looked up and in the reader's language."""

    code: str
    url: str
    officer_name: str
    officer_badge: str
    division: str
    occurred_local: datetime
    place: str
    complaints_body_name: str
    complaints_body_website: str
    complaints_body_phone: str
    own_record_text: str
    lang: str

    def __post_init__(self) -> None:
        _require_lang(self.lang)
        _require_aware(self.occurred_local)


def format_when(dt: datetime, lang: str) -> str:
    """Format a timezone-aware datetime as a full date and short time in the language, in its own zone."""
    _require_lang(lang)
    _require_aware(dt)
    locale = _LOCALES[lang]
    # Babel's own "full" datetime adds seconds and the zone's long name; a receipt needs neither.
    # str(): Babel types this as `DateTimePattern | str`; for the datetime formats it is the plain text.
    pattern = (
        str(get_datetime_format("long", locale=locale))
        .replace("{1}", get_date_format("full", locale=locale).pattern)
        .replace("{0}", get_time_format("short", locale=locale).pattern)
    )
    return format_datetime(dt, pattern, tzinfo=dt.tzinfo, locale=locale)


def qr_svg(url: str, *, lang: str = "en") -> str:
    """Return inline SVG markup (no XML declaration) of a QR code for the URL, about 200 px wide, titled."""
    _require_lang(lang)
    qr = _qr(url)
    width, _ = qr.symbol_size(scale=1)
    svg = qr.svg_inline(
        scale=round(QR_SVG_PIXELS / width, 4),
        title=labels(lang)["qr_title"].format(url=url),
        svgclass="receipt-qr",
    )
    # role="img" makes screen readers announce the <title> instead of ignoring an unlabelled drawing.
    return svg.replace("<svg ", '<svg role="img" ', 1)


def qr_png(url: str, scale: int = 6) -> bytes:
    """Return a PNG of a QR code for the URL, each module `scale` pixels wide."""
    if scale < 1:
        raise ValueError("the QR code scale must be at least 1")
    out = io.BytesIO()
    _qr(url).save(out, kind="png", scale=scale)
    return out.getvalue()


def receipt_pdf(view: ReceiptView) -> bytes:
    """Render the receipt as a tagged (PDF/UA-1) A5 PDF in the view's language; long texts flow on."""
    html = _receipt_html(view)
    with _RENDER_LOCK:
        font_config, stylesheet, fetcher = _engine()
        # WeasyPrint takes longer to import than a warm render: loaded by _engine (warm_up) at start-up,
        # on a background thread, never while the app is being imported.
        from weasyprint import HTML

        return HTML(string=html, base_url=str(_HERE), url_fetcher=fetcher).write_pdf(
            stylesheets=[stylesheet], font_config=font_config, pdf_variant="pdf/ua-1"
        )


def warm_up() -> None:
    """Load WeasyPrint, the fonts and the stylesheet now, so that the first receipt is as quick as the rest.

    The service calls it on a background thread at start-up; importing WeasyPrint alone takes longer
    than a whole warm render.
    """
    with _RENDER_LOCK:
        _engine()


def _receipt_html(view: ReceiptView) -> str:
    words = labels(view.lang)
    png = base64.b64encode(qr_png(view.url, scale=_QR_PDF_PNG_SCALE)).decode("ascii")
    context: dict[str, Any] = {
        "r": view,
        "labels": words,
        "pdf_lang": _PDF_LANGS[view.lang],
        "when": format_when(view.occurred_local, view.lang),
        "complain": words["complain"].format(
            name=view.complaints_body_name,
            website=view.complaints_body_website,
            phone=view.complaints_body_phone,
        ),
        "qr_png": f"data:image/png;base64,{png}",
        "qr_alt": words["qr_title"].format(url=view.url),
    }
    return environment.get_template("receipt_pdf.html").render(**context)


@lru_cache(maxsize=1)
def _engine() -> tuple[Any, Any, Any]:
    """WeasyPrint's font configuration, the receipt's parsed stylesheet and its fetcher, made once."""
    # Imported here, not at the top: WeasyPrint is heavy and most processes never print a receipt.
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    font_config = FontConfiguration()
    stylesheet = CSS(filename=str(_STYLESHEET), font_config=font_config)
    # The page embeds all it shows (the QR code is a data: URL); a receipt never reads a file or the
    # network, whatever text a record holds.
    return font_config, stylesheet, URLFetcher(allowed_protocols={"data"})


def _qr(url: str) -> segno.QRCode:
    if not url:
        raise ValueError("a QR code needs a URL")
    # make_qr never picks a Micro QR symbol, which many phone cameras cannot read.
    return segno.make_qr(url, error=_QR_ERROR)


def _require_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"receipt language must be one of {', '.join(LANGUAGES)}, not {lang!r}")


def _require_aware(dt: datetime) -> None:
    # A receipt's time is evidence; a naive datetime could be read in the wrong zone.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("the receipt's time must be timezone-aware")
