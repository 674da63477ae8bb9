"""Receipt rendering: the printable PDF, the QR code of the check page, and dates in the reader's language.

What a receipt must say comes from O. Reg. 58/16 s.7 (docs/rule-sets.md, RECEIPT-CONTENT): the officer's name
and badge number; date, time and place; how to reach the independent complaints body; how to ask for
one's own information; and a unique reference code. Every label exists in English and French.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import segno
from babel.dates import format_datetime, get_date_format, get_datetime_format, get_time_format
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

LANGUAGES = ("en", "fr")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Community engagement receipt",
        "code": "Reference code",
        "officer": "Officer",
        "badge": "Badge number",
        "division": "Division",
        "when": "Date and time",
        "place": "Place",
        "not_required": (
            "You were not required to answer the officer's questions or to give any identifying information."
        ),
        "check": "Check that this receipt is genuine at:",
        "complain_heading": "To make a complaint",
        "complain": (
            "You can make a complaint about this interaction to the {name}, which is independent of the "
            "police service: {website}, {phone}."
        ),
        "own_record_heading": "To ask for your own information",
        "qr_title": "QR code linking to the receipt check page {url}",
    },
    "fr": {
        "heading": "Reçu d'interaction communautaire",
        "code": "Code de référence",
        "officer": "Agent de police",
        "badge": "Numéro d'insigne",
        "division": "Division",
        "when": "Date et heure",
        "place": "Lieu",
        "not_required": (
            "Vous n'étiez pas tenu de répondre aux questions de l'agent ni de fournir des renseignements "
            "permettant de vous identifier."
        ),
        # French puts a no-break space before the colon.
        "check": "Vérifiez l'authenticité de ce reçu à l'adresse\u00a0:",
        "complain_heading": "Pour porter plainte",
        "complain": (
            "Vous pouvez porter plainte au sujet de cette interaction auprès d'un organisme "
            "indépendant du service de police, {name}\u00a0: {website}, {phone}."
        ),
        "own_record_heading": "Pour obtenir vos propres renseignements",
        "qr_title": "Code QR menant à la page de vérification du reçu {url}",
    },
}

# Canadian locales: Ontario receipts read dates the Canadian way in both languages.
_LOCALES = {"en": "en_CA", "fr": "fr_CA"}
_PDF_LANGS = {"en": "en-CA", "fr": "fr-CA"}

# fpdf2 ships no Unicode font. DejaVu (Debian's fonts-dejavu-core) is looked for in these folders, in
# order; without it the PDF falls back to the core Helvetica and Courier, which only cover Latin-1.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
_SANS_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_MONO_FILE = "DejaVuSansMono.ttf"

QR_SVG_PIXELS = 200
# Medium error correction survives a creased or smudged paper receipt; segno raises it when it fits.
_QR_ERROR = "m"
_QR_PDF_MM = 34
_QR_PDF_PNG_SCALE = 8
_MARGIN_MM = 11
_BODY_PT = 9.5
_SMALL_PT = 8
# A5 in millimetres; fpdf2 warns on the name "A5" because its size changed in 2.8.5.
_A5_MM = (148, 210)
_TextFilter = Callable[[str], str]
_LABEL_COLUMN_MM = 38


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
    pattern = (
        get_datetime_format("long", locale=locale)
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
        title=LABELS[lang]["qr_title"].format(url=url),
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
    """Render the receipt as an A5 portrait PDF in the view's language (one page unless texts are long)."""
    labels = LABELS[view.lang]
    pdf = FPDF(orientation="P", unit="mm", format=_A5_MM)
    pdf.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
    pdf.set_auto_page_break(True, margin=_MARGIN_MM)
    pdf.set_title(f"{labels['heading']} {view.code}")
    pdf.set_subject(labels["heading"])
    pdf.set_lang(_PDF_LANGS[view.lang])
    pdf.set_creator("FairEngage")
    sans, mono, unicode = _load_fonts(pdf)
    text = _as_is if unicode else _latin1
    pdf.add_page()

    pdf.set_font(sans, "B", 15)
    pdf.multi_cell(0, 8, text(labels["heading"]), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(sans, "B", _BODY_PT)
    pdf.multi_cell(0, 5, text(labels["not_required"]), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)

    fields = (
        ("officer", view.officer_name),
        ("badge", view.officer_badge),
        ("division", view.division),
        ("when", format_when(view.occurred_local, view.lang)),
        ("place", view.place),
    )
    pdf.set_font(sans, "", _BODY_PT)
    usable = pdf.epw
    with pdf.table(
        col_widths=(_LABEL_COLUMN_MM, usable - _LABEL_COLUMN_MM),
        width=usable,
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
        text_align=("LEFT", "LEFT"),
        line_height=4.5,
        padding=1.2,
    ) as table:
        for key, value in fields:
            row = table.row()
            row.cell(text(labels[key]), style=FontFace(emphasis="BOLD"))
            row.cell(text(value))
    pdf.ln(4)

    _draw_code_block(pdf, view, sans, mono, text)

    paragraphs = (
        (
            labels["complain_heading"],
            labels["complain"].format(
                name=view.complaints_body_name,
                website=view.complaints_body_website,
                phone=view.complaints_body_phone,
            ),
        ),
        (labels["own_record_heading"], view.own_record_text),
    )
    for heading, body in paragraphs:
        pdf.set_font(sans, "B", _BODY_PT)
        pdf.multi_cell(0, 4.5, text(heading), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(sans, "", _BODY_PT)
        pdf.multi_cell(0, 4.5, text(body), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    return bytes(pdf.output())


def _draw_code_block(pdf: FPDF, view: ReceiptView, sans: str, mono: str, text: _TextFilter) -> None:
    # The code and the check address in words on the left, for anyone without a camera; the QR code of
    # the same address on the right.
    labels = LABELS[view.lang]
    if pdf.get_y() + _QR_PDF_MM > pdf.page_break_trigger:
        pdf.add_page()
    top, left = pdf.get_y(), pdf.l_margin
    qr_left = pdf.w - pdf.r_margin - _QR_PDF_MM
    width = qr_left - left - 4
    pdf.set_font(sans, "B", _BODY_PT)
    pdf.multi_cell(width, 5, text(labels["code"]), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(mono, "", 22)
    pdf.multi_cell(width, 11, text(view.code), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(sans, "", _BODY_PT)
    pdf.multi_cell(width, 4.5, text(labels["check"]), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(sans, "", _SMALL_PT)
    # Break a long address anywhere rather than push it off the page.
    pdf.multi_cell(
        width,
        4,
        text(view.url),
        align="L",
        link=view.url,
        wrapmode=WrapMode.CHAR,
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    pdf.image(
        io.BytesIO(qr_png(view.url, scale=_QR_PDF_PNG_SCALE)),
        x=qr_left,
        y=top,
        w=_QR_PDF_MM,
        h=_QR_PDF_MM,
        link=view.url,
        alt_text=labels["qr_title"].format(url=view.url),
    )
    pdf.set_xy(left, max(pdf.get_y(), top + _QR_PDF_MM) + 3)


def _load_fonts(pdf: FPDF) -> tuple[str, str, bool]:
    """Register DejaVu when present; return the sans and mono family names and whether they are Unicode."""
    for folder in FONT_DIRS:
        files = [folder / name for name in (*_SANS_FILES.values(), _MONO_FILE)]
        if all(path.is_file() for path in files):
            for style, name in _SANS_FILES.items():
                pdf.add_font("dejavu-sans", style, folder / name)
            pdf.add_font("dejavu-mono", "", folder / _MONO_FILE)
            return "dejavu-sans", "dejavu-mono", True
    return "helvetica", "courier", False


def _as_is(value: str) -> str:
    return value


# Characters Babel and typographic French use that Latin-1 lacks, with their nearest Latin-1 stand-in.
_LATIN1_STAND_INS = str.maketrans(
    {
        "\u202f": "\u00a0",  # narrow no-break space (CLDR times, French punctuation)
        "\u2009": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2011": "-",
        "\u2026": "...",
        # Letters Unicode does not decompose into a base letter and an accent.
        "Œ": "OE",
        "œ": "oe",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "ı": "i",
    }
)


def _latin1(value: str) -> str:
    """Make text printable in a core PDF font: keep Latin-1, strip other accents, replace the rest."""
    kept = []
    for char in value.translate(_LATIN1_STAND_INS):
        if ord(char) < 256:
            kept.append(char)
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(part for part in decomposed if not unicodedata.combining(part))
        kept.append(base if base and all(ord(part) < 256 for part in base) else "?")
    return "".join(kept)


def _qr(url: str) -> segno.QRCode:
    if not url:
        raise ValueError("a QR code needs a URL")
    # make_qr never picks a Micro QR symbol, which many phone cameras cannot read.
    return segno.make_qr(url, error=_QR_ERROR)


def _require_lang(lang: str) -> None:
    if lang not in LABELS:
        raise ValueError(f"receipt language must be one of {', '.join(LANGUAGES)}, not {lang!r}")


def _require_aware(dt: datetime) -> None:
    # A receipt's time is evidence; a naive datetime could be read in the wrong zone.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("the receipt's time must be timezone-aware")
