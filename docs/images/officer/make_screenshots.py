"""Regenerate the screenshots of docs/officer.md from the running application, on a phone's screen.

    PYTHONPATH=src:tests .venv/bin/python docs/images/officer/make_screenshots.py

A fresh SQLite database, the app served on a free loopback port, and Debian's Chromium at 390x844 walk
the officer's flow as the guide tells it; each state is saved here as a small palette PNG. Nothing is
read from or written to any other database. Run it after changing the form, and look at the images.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from PIL import Image  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from builders import World  # noqa: E402
from fairengage import migrate  # noqa: E402
from fairengage.config import Settings  # noqa: E402
from fairengage.db import engine_for, session_factory  # noqa: E402
from live import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: E402

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
POSITION = {"latitude": 43.64771, "longitude": -79.40355}
PASSWORD = "phone-at-the-roadside"  # noqa: S105 # a throwaway account in a throwaway database
REASON = "He was pulling on the handles of parked car doors along the street, one car after another."
# Every image the guide shows, in the order the walk takes them.
SHOTS = (
    "training-notice",
    "form-top",
    "live-check",
    "race-word",
    "recent-and-location",
    "receipt-step",
    "saved-receipt",
    "another-person",
    "draft-restored",
    "offline-saved",
    "offline-sent",
)
MAX_BYTES = 120_000


def save(page: Page, name: str) -> None:
    """The screen as it stands, reduced to a 64-colour palette: text stays sharp, the file stays small."""
    assert name in SHOTS, name
    image = Image.open(BytesIO(page.screenshot())).convert("RGB")
    small = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(HERE / f"{name}.png", optimize=True)
    size = (HERE / f"{name}.png").stat().st_size
    print(f"{name}.png {size // 1000} kB")


def boundaries(folder: Path) -> Path:
    """A square around the phone's position is D52, so "Use my location" has a division to suggest."""
    lat, lon = POSITION["latitude"], POSITION["longitude"]
    square = [[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01],
              [lon - 0.01, lat + 0.01], [lon - 0.01, lat - 0.01]]  # fmt: skip
    feature = {
        "type": "Feature",
        "properties": {"DIV": "D52"},
        "geometry": {"type": "Polygon", "coordinates": [square]},
    }
    path = folder / "divisions.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def top_of(page: Page, selector: str, margin: int = 12) -> None:
    """Scroll so that the element sits at the top of the screen, as the officer reaches it."""
    page.locator(selector).first.scroll_into_view_if_needed()
    page.evaluate(
        "([s, m]) => window.scrollBy(0, document.querySelector(s).getBoundingClientRect().top - m)",
        [selector, margin],
    )
    page.wait_for_timeout(150)


def fill_first_half(page: Page, reason: str = REASON) -> None:
    page.get_by_label("None of these applies").check()
    page.get_by_label("Inquiring into suspicious activities", exact=False).first.check()
    page.locator("#place").fill("Queen St W & Spadina Ave")
    page.get_by_role("checkbox", name="Behaviour", exact=False).first.check()
    page.get_by_label("In your own words").fill(reason)


def fill_second_half(page: Page) -> None:
    page.locator("input[name=informed][value=yes]").check()
    page.locator("input[name=informed_why][value=yes]").check()
    page.locator("input[name=perceived_race][value=White]").check()
    page.locator("input[name=perceived_gender][value=man]").check()
    page.get_by_label("Age (years)").fill("35")
    page.locator("input[name=identifying_info_collected][value=no]").check()
    page.locator("input[name=receipt_offered][value=yes]").check()


def walk(base: str, browser) -> None:  # type: ignore[no-untyped-def]
    # Training lapsed: the notice comes instead of the form.
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, base, "lapsed")
    page.goto(f"{base}/engagements/new")
    save(page, "training-notice")
    context.close()

    context = browser.new_context(**PHONE, geolocation=POSITION, permissions=["geolocation"])
    page = context.new_page()
    sign_in(page, base, "avery")
    page.goto(f"{base}/engagements/new")
    page.wait_for_load_state("networkidle")
    save(page, "form-top")

    # A forbidden reason, shown next to the question as it is typed.
    page.get_by_role("checkbox", name="Behaviour", exact=False).first.check()
    page.get_by_label("In your own words").press_sequentially("Walked away from me, black male", delay=10)
    page.locator(".live-error.field-error").first.wait_for(state="visible", timeout=10_000)
    top_of(page, "label[for=reason]")
    save(page, "live-check")

    # The race word describes something else: confirmed, the refusal becomes a flag for the supervisor.
    page.get_by_label("In your own words").fill(
        "Man in a black jacket trying the door handles of parked cars"
    )
    page.get_by_label("describes something else", exact=False).check()
    page.locator(".live-error.field-flag").first.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("() => document.querySelectorAll('.live-error.field-error').length === 0")
    top_of(page, "#reason", margin=260)
    save(page, "race-word")
    page.get_by_label("describes something else", exact=False).uncheck()
    page.get_by_label("In your own words").fill(REASON)

    # The first record, typed out, so the next form offers its place and reason again.
    fill_first_half(page)
    fill_second_half(page)
    top_of(page, "fieldset:has(input[name=receipt_offered])")
    save(page, "receipt-step")
    page.get_by_role("button", name="Check and save").click()
    page.wait_for_url("**/receipt")
    page.wait_for_load_state("networkidle")
    top_of(page, "main h1")
    save(page, "saved-receipt")

    page.get_by_role("link", name="Another person in this encounter").click()
    page.wait_for_load_state("networkidle")
    save(page, "another-person")

    page.goto(f"{base}/engagements/new")
    page.wait_for_load_state("networkidle")
    page.locator("#use-location").click()
    page.wait_for_function("() => document.querySelector('#division').value === 'D52'", timeout=10_000)
    page.locator("label.chip:has(input[name=place_recent])").first.click()
    top_of(page, "label[for=division]")
    save(page, "recent-and-location")

    # Offline: installed and opened once, the form keeps a draft and saves on the phone.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    page.wait_for_selector("html[data-offline-ready]", state="attached")
    page.get_by_label("In your own words").fill(REASON)
    page.wait_for_timeout(1500)  # a draft is kept a moment after the last keystroke
    page.reload()
    page.locator("#offline-status").get_by_text("draft", exact=False).first.wait_for(timeout=10_000)
    page.evaluate("window.scrollTo(0, 0)")
    save(page, "draft-restored")

    context.set_offline(True)
    fill_first_half(page)
    fill_second_half(page)
    page.get_by_role("button", name="Check and save").click()
    page.locator("#offline-status").get_by_text("Saved on this phone, not yet sent").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    save(page, "offline-saved")
    context.set_offline(False)
    page.locator("#offline-status [data-offline=sent]").wait_for(timeout=20_000)
    page.evaluate("window.scrollTo(0, 0)")
    save(page, "offline-sent")
    context.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'screens.db'}"
        migrate.upgrade(url)
        world = World(session_factory(engine_for(url)))
        today = date.today()
        world.officer("A1", "D14", trained_on=today - timedelta(days=40), name="Avery Park")
        world.user("avery", "officer", badge="A1", password=PASSWORD)
        world.officer("A2", "D14", trained_on=date(2022, 3, 10), name="Lee Lapsed")
        world.user("lapsed", "officer", badge="A2", password=PASSWORD)
        settings = Settings(
            database_url=url,
            secret_key="screenshots-only-secret-0123456789",  # noqa: S106 # the throwaway database's only
            public_url="http://127.0.0.1",
            boundaries=boundaries(folder),
            training_contact="the Training Unit, 416-555-0142",
        )
        from fairengage.app import create_app

        with live_server(create_app(settings)) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                walk(base, browser)
            finally:
                browser.close()
    too_big = [n for n in SHOTS if (HERE / f"{n}.png").stat().st_size > MAX_BYTES]
    if too_big:
        raise SystemExit(f"larger than {MAX_BYTES // 1000} kB: {too_big}")
    print(f"{len(SHOTS)} screenshots in {HERE} at {datetime.now():%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
