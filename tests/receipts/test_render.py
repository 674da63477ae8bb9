"""Receipt rendering: PDF content in both languages, QR codes, and dates in the reader's language."""

import dataclasses
import io
import re
from datetime import UTC, datetime
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pypdf
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fairengage.receipts import render
from fairengage.receipts.codes import issue_code
from fairengage.receipts.render import LABELS, ReceiptView, format_when, qr_png, qr_svg, receipt_pdf

TORONTO = ZoneInfo("America/Toronto")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
QR_BORDER = 4  # the quiet zone ISO/IEC 18004 requires, in modules
# Byte-mode capacity at error level M for versions 1 to 6 (ISO/IEC 18004, table 7).
BYTE_CAPACITY_M = (14, 26, 42, 62, 84, 106)
FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def make_view(lang: str = "en", **changes) -> ReceiptView:
    code = issue_code(b"render-test-secret")
    view = ReceiptView(
        code=code,
        url=f"https://fairengage.example.ca/r/{code}",
        officer_name="Amélie Tremblay",
        officer_badge="10472",
        division="D14",
        occurred_local=datetime(2024, 3, 14, 15, 30, tzinfo=TORONTO),
        place="Queen St W at Bathurst St",
        complaints_body_name="Law Enforcement Complaints Agency",
        complaints_body_website="https://www.lecaontario.ca",
        complaints_body_phone="1-877-411-4773",
        own_record_text="Ask the Access and Privacy Section for your record, quoting this code.",
        lang=lang,
    )
    return dataclasses.replace(view, **changes)


def pdf_reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def squeezed(text: str) -> str:
    # Wrapped lines split words at arbitrary spaces; compare without any whitespace.
    return "".join(text.split())


def pdf_text(data: bytes) -> str:
    return squeezed("".join(page.extract_text() for page in pdf_reader(data).pages))


def expected_qr_version(url: str) -> int:
    size = len(url.encode("utf-8"))
    return next(version for version, cap in enumerate(BYTE_CAPACITY_M, start=1) if size <= cap)


def modules_from_image(image: Image.Image, modules: int, border: int) -> list[list[bool]]:
    """Sample the centre of each module of a QR image; True where dark."""
    grey = image.convert("L")
    pitch = grey.width / (modules + 2 * border)
    return [
        [grey.getpixel((int((border + col + 0.5) * pitch), int((border + row + 0.5) * pitch))) < 128
         for col in range(modules)]
        for row in range(modules)
    ]  # fmt: skip


def has_finder_pattern(matrix: list[list[bool]], top: int, left: int) -> bool:
    """A 7×7 finder: dark outer ring, light ring, dark 3×3 centre."""
    for row in range(7):
        for col in range(7):
            ring = max(abs(row - 3), abs(col - 3))
            if matrix[top + row][left + col] != (ring != 2):
                return False
    return True


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pdf_is_a_single_page_pdf(lang):
    data = receipt_pdf(make_view(lang))
    assert data.startswith(b"%PDF-")
    assert len(pdf_reader(data).pages) == 1


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pdf_text_holds_every_required_field(lang):
    view = make_view(lang)
    text = pdf_text(receipt_pdf(view))
    for value in (
        view.officer_name,
        view.officer_badge,
        view.division,
        view.place,
        view.code,
        view.url,
        view.complaints_body_name,
        view.complaints_body_website,
        view.complaints_body_phone,
        view.own_record_text,
        format_when(view.occurred_local, lang),
    ):
        assert squeezed(value) in text, value


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pdf_labels_are_in_the_view_language(lang):
    other = "fr" if lang == "en" else "en"
    text = pdf_text(receipt_pdf(make_view(lang)))
    for key in ("heading", "code", "officer", "badge", "when", "place", "not_required", "check"):
        assert squeezed(LABELS[lang][key]) in text, key
    for key in ("heading", "badge", "when", "not_required"):
        assert squeezed(LABELS[other][key]) not in text, key


def test_french_pdf_keeps_accents():
    text = pdf_text(receipt_pdf(make_view("fr")))
    assert squeezed("Reçu d'interaction communautaire") in text
    assert "Numérod'insigne" in text
    assert "jeudi14mars2024" in text


@pytest.mark.parametrize(("lang", "pdf_lang"), [("en", "en-CA"), ("fr", "fr-CA")])
def test_pdf_metadata_has_title_and_language(lang, pdf_lang):
    view = make_view(lang)
    reader = pdf_reader(receipt_pdf(view))
    assert reader.metadata.title == f"{LABELS[lang]['heading']} {view.code}"
    assert reader.trailer["/Root"]["/Lang"] == pdf_lang


def test_pdf_qr_image_encodes_the_check_url_and_links_to_it():
    view = make_view()
    page = pdf_reader(receipt_pdf(view)).pages[0]
    assert len(page.images) == 1
    symbol = segno.make_qr(view.url, error="m")
    modules = 17 + 4 * expected_qr_version(view.url)
    matrix = modules_from_image(page.images[0].image, modules, QR_BORDER)
    assert matrix == [[bool(cell) for cell in row] for row in symbol.matrix]
    links = {annot.get_object()["/A"]["/URI"] for annot in page["/Annots"]}
    assert links == {view.url}


def pdf_fonts(data: bytes) -> set[str]:
    page = pdf_reader(data).pages[0]
    # Embedded subsets are named "ABCDEF+DejaVu-Sans"; keep the family after the subset tag.
    fonts = page["/Resources"]["/Font"].values()
    return {str(font.get_object()["/BaseFont"]).split("+")[-1] for font in fonts}


def test_pdf_embeds_dejavu_for_text_and_code():
    assert pdf_fonts(receipt_pdf(make_view("fr"))) >= {"DejaVu-Sans", "DejaVu-Sans-Bold", "DejaVu-Sans-Mono"}


def test_pdf_keeps_letters_beyond_latin1():
    view = make_view("fr", officer_name="Łukasz Wiśniewski", place="Œuvre Saint-Denis, Ørsted")
    text = pdf_text(receipt_pdf(view))
    assert squeezed("Reçu d'interaction communautaire") in text
    assert "ŁukaszWiśniewski" in text
    assert "ŒuvreSaint-Denis,Ørsted" in text
    assert view.code in text


@pytest.mark.slow  # A PDF for each of many generated names and places.
@settings(max_examples=25, deadline=None)
@given(name=st.text(min_size=1, max_size=60), place=st.text(max_size=80))
def test_any_officer_name_or_place_renders(name, place):
    data = receipt_pdf(make_view("fr", officer_name=name, place=place))
    assert data.startswith(b"%PDF-")
    assert len(pdf_reader(data).pages) >= 1


def test_markup_in_a_value_is_printed_as_text_not_obeyed():
    view = make_view(place='<img src="file:///etc/passwd"><b>Bathurst</b> & King')
    data = receipt_pdf(view)
    assert squeezed('<imgsrc="file:///etc/passwd"><b>Bathurst</b>&King') in pdf_text(data)
    assert len(pdf_reader(data).pages[0].images) == 1  # only the QR code


def test_the_pdf_engine_fetches_nothing_but_embedded_data():
    _fonts, _css, fetcher = render._engine()
    for url in ("file:///etc/hostname", "http://127.0.0.1:9/x.png", "https://example.org/x.css"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,b2s=").read() == b"ok"


def structure(data: bytes) -> list[tuple[str, object]]:
    """The tags of a tagged PDF in reading order, each with its /Alt when it has one."""
    found: list[tuple[str, object]] = []
    pending = [pdf_reader(data).trailer["/Root"]["/StructTreeRoot"]["/K"]]
    while pending:
        node = pending.pop(0)
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, pypdf.generic.ArrayObject):
            pending[:0] = list(node)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if "/S" in node:
                found.append((str(node["/S"]), node.get("/Alt")))
            if "/K" in node:
                pending.insert(0, node["/K"])
    return found


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pdf_is_tagged_pdf_ua_with_the_qr_code_described(lang):
    view = make_view(lang)
    data = receipt_pdf(view)
    root = pdf_reader(data).trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712 - a pypdf BooleanObject
    assert b'pdfuaid:part="1"' in root["/Metadata"].get_object().get_data()
    tags = structure(data)
    kinds = [kind for kind, _alt in tags]
    assert kinds.index("/H1") < kinds.index("/H2")
    assert kinds.count("/H2") == 3
    figures = [alt for kind, alt in tags if kind == "/Figure"]
    assert figures == [LABELS[lang]["qr_title"].format(url=view.url)]


def test_fonts_and_stylesheet_are_loaded_once_per_process():
    render._engine.cache_clear()
    receipt_pdf(make_view("en"))
    receipt_pdf(make_view("fr"))
    receipt_pdf(make_view("en", place="Yonge St"))
    info = render._engine.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_long_text_flows_onto_a_second_page_without_losing_it():
    view = make_view(own_record_text="Write to the Access and Privacy Section. " * 60 + "END-OF-TEXT")
    data = receipt_pdf(view)
    assert len(pdf_reader(data).pages) == 2
    assert view.code in squeezed(pdf_reader(data).pages[0].extract_text())
    assert "END-OF-TEXT" in pdf_text(data)


def test_svg_is_inline_markup_with_a_title_at_about_200_pixels():
    url = "https://fairengage.example.ca/r/ABCD-EFGH-JKMN?lang=fr&x=1"
    svg = qr_svg(url, lang="fr")
    assert svg.startswith("<svg ") and "<?xml" not in svg
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own output, not untrusted input
    assert root.get("role") == "img"
    title = root.find("title")
    assert title is not None
    assert title.text == LABELS["fr"]["qr_title"].format(url=url)
    assert 190 <= float(root.get("width")) <= 210
    assert root.get("width") == root.get("height")


def test_svg_title_defaults_to_english():
    svg = qr_svg("https://fairengage.example.ca/r/ABCD-EFGH-JKMN")
    assert re.search(r"<title>QR code linking to the receipt check page https://", svg)


@pytest.mark.parametrize("scale", [1, 6, 10])
def test_png_has_the_module_count_the_url_needs(scale):
    url = "https://fairengage.example.ca/r/ABCD-EFGH-JKMN"
    data = qr_png(url, scale=scale)
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    modules = 17 + 4 * expected_qr_version(url)
    assert image.size == ((modules + 2 * QR_BORDER) * scale,) * 2
    matrix = modules_from_image(image, modules, QR_BORDER)
    for top, left in ((0, 0), (0, modules - 7), (modules - 7, 0)):
        assert has_finder_pattern(matrix, top, left), (top, left)


def test_png_version_grows_with_the_url():
    short = "https://x.ca/r/ABCD"
    long = "https://fairengage.example.ca/r/ABCD-EFGH-JKMN?lang=fr&source=receipt"
    sizes = [Image.open(io.BytesIO(qr_png(url, scale=1))).width for url in (short, long)]
    assert sizes == [17 + 4 * expected_qr_version(url) + 2 * QR_BORDER for url in (short, long)]
    assert sizes[0] < sizes[1]


def test_png_refuses_a_zero_scale():
    with pytest.raises(ValueError):
        qr_png("https://fairengage.example.ca/r/ABCD", scale=0)


def test_format_when_uses_french_month_names():
    for month, name in enumerate(FRENCH_MONTHS, start=1):
        text = format_when(datetime(2024, month, 3, 9, 5, tzinfo=TORONTO), "fr")
        assert f" 3 {name} 2024" in text, text
        assert "9 h 05" in text, text


def test_format_when_in_english():
    text = format_when(datetime(2024, 3, 14, 15, 30, tzinfo=TORONTO), "en")
    assert "Thursday" in text and "March 14, 2024" in text and "3:30" in text


def test_format_when_keeps_the_datetime_zone():
    instant = datetime(2024, 7, 1, 16, 0, tzinfo=UTC)
    assert "16 h 00" in format_when(instant, "fr")
    assert "12 h 00" in format_when(instant.astimezone(TORONTO), "fr")


def test_format_when_refuses_naive_datetimes_and_unknown_languages():
    with pytest.raises(ValueError):
        format_when(datetime(2024, 3, 14, 15, 30), "fr")
    with pytest.raises(ValueError):
        format_when(datetime(2024, 3, 14, 15, 30, tzinfo=TORONTO), "de")


def test_view_refuses_unknown_language_and_naive_time():
    with pytest.raises(ValueError):
        make_view("de")
    with pytest.raises(ValueError):
        make_view(occurred_local=datetime(2024, 3, 14, 15, 30))


def test_both_languages_have_the_same_labels():
    assert set(LABELS["en"]) == set(LABELS["fr"])
    assert all(LABELS["fr"][key] != LABELS["en"][key] for key in LABELS["en"] if key != "division")


def test_french_labels_come_from_the_catalogue_in_their_own_context():
    from fairengage.web.i18n import translations

    # The same English word is translated for a receipt without changing it on the other pages.
    assert LABELS["fr"]["officer"] == "Agent de police"
    assert translations("fr").gettext("Officer") == "Agent"
    assert LABELS["fr"]["check"].endswith("\u00a0:")
    assert list(LABELS) == ["en", "fr"]
    with pytest.raises(KeyError):
        LABELS["de"]
    with pytest.raises(ValueError):
        render.labels("de")


def test_warm_up_loads_the_engine_that_renders_then_reuse():
    render._engine.cache_clear()
    render.warm_up()
    assert render._engine.cache_info().misses == 1
    receipt_pdf(make_view("fr"))
    assert render._engine.cache_info().misses == 1


def test_receipts_rendered_at_once_on_several_threads_each_come_out_whole():
    from concurrent.futures import ThreadPoolExecutor

    render._engine.cache_clear()  # the threads race to make the engine too
    views = [make_view(lang, place=f"Place {n}") for n, lang in enumerate(["en", "fr"] * 3)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        pdfs = list(pool.map(receipt_pdf, views))
    for view, data in zip(views, pdfs, strict=True):
        text = pdf_text(data)
        assert squeezed(view.place) in text and view.code in text
        assert squeezed(LABELS[view.lang]["heading"]) in text
    assert render._engine.cache_info().misses == 1
