"""In Chromium on a phone: the officer's form with no connection, after a lost answer, and across sign-ins.

Each test drives the real page, service worker and IndexedDB, and checks what the server stored.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from builders import fill_compliant_form, fill_form_first_half, fill_form_second_half
from fairengage.access.models import UserSession
from fairengage.engagements.models import Engagement
from fairengage.receipts import codes
from live import live_server

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PLACE = "Queen St W & Spadina Ave"
NAME = "Sam Offline-Example"
# Screenshots of each state go here when set (docs/development.md); otherwise to the test's tmp folder.
SHOTS = os.environ.get("FAIRENGAGE_SCREENSHOTS")

# Everything the phone keeps, as it sits in IndexedDB: the owner tags, states and the sealed bytes.
READ_STORE = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open('fairengage-offline', 1);
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const all = (name) => new Promise((ok) => { const r = db.transaction(name).objectStore(name).getAll();
    r.onsuccess = () => ok(r.result); });
  const records = (await all('records')).map((e) => ({
    id: e.id, owner: e.owner, state: e.state, isBuffer: e.data instanceof ArrayBuffer,
    text: new TextDecoder('utf-8', {fatal: false}).decode(e.data) + JSON.stringify(e) }));
  const keys = await Promise.all((await all('keys')).map(async (k) => {
    let exported = true; try { await crypto.subtle.exportKey('raw', k.key); } catch (e) { exported = false; }
    return { owner: k.owner, extractable: k.key.extractable, exported };
  }));
  db.close();
  return { records, keys };
}"""

KEPT_FORM = """async () => {
  for (const name of await caches.keys()) {
    if (await (await caches.open(name)).match('/engagements/new')) return true;
  }
  return false;
}"""

# The kept form page's text, or "" when none is kept.
KEPT_TEXT = """async () => {
  for (const name of await caches.keys()) {
    const kept = await (await caches.open(name)).match('/engagements/new');
    if (kept) return await kept.text();
  }
  return "";
}"""


def _shot(page, tmp_path: Path, name: str) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"offline-{name}.png"), full_page=False)


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/engagements/new")


def _ready(page) -> None:
    """The form's script has its key and is keeping drafts (the status region answers)."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("html[data-offline-ready]", state="attached")


def _records(sessions) -> list[Engagement]:
    with sessions() as s:
        return list(s.scalars(select(Engagement)))


def _store(page) -> dict:
    return page.evaluate(READ_STORE)


def _wait_for_kept(page, count: int) -> None:
    """Until the phone holds `count` entries (a draft is kept a moment after the last keystroke)."""
    for _ in range(100):
        if len(_store(page)["records"]) == count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the phone never held {count} entries")


def _phone_at_the_form(browser, base: str, officer: tuple[str, str]):  # type: ignore[no-untyped-def]
    """A phone-sized browser, the officer signed in, the form open with its script and worker ready."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{base}/engagements/new")
    _sign_in(page, base, *officer)
    _ready(page)
    return context, page


ADA = "ada.offline.roadside"
CLEO = "cleo.third.officer"


@pytest.fixture
def officer(world) -> tuple[str, str]:
    world.officer("T5151", "D14", name="Constable Ada Offline")
    # Usernames no random token on a page can contain (a UUID, a CSRF token, a receipt code), so
    # a test that looks for one finds the name and never a chance run of letters.
    world.user(ADA, "officer", badge="T5151", password="offline-roadside-pass")
    return ADA, "offline-roadside-pass"


def test_recorded_offline_reloaded_then_sent_once_with_its_receipt(browser, app, sessions, officer, tmp_path):
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)

        context.set_offline(True)
        fill_compliant_form(page, PLACE, NAME)
        page.get_by_role("button", name="Check and save").click()
        status = page.locator("#offline-status")
        status.get_by_text("Saved on this phone, not yet sent").wait_for()
        _shot(page, tmp_path, "queued")
        # The form is cleared for the next record; the one kept waits, sealed, on the phone.
        assert page.locator("#place").input_value() == ""
        kept = _store(page)
        assert [r["state"] for r in kept["records"]] == ["queued"]
        assert kept["records"][0]["isBuffer"]
        assert PLACE not in kept["records"][0]["text"] and NAME not in kept["records"][0]["text"]
        assert kept["keys"] and all(not k["extractable"] and not k["exported"] for k in kept["keys"])
        assert _records(sessions) == []

        assert page.evaluate(KEPT_FORM)
        # Reloaded with no connection: the service worker's copy of the form opens, and says what waits.
        page.reload()
        status.get_by_text("Records saved on this phone, not yet sent: 1").wait_for()
        assert _records(sessions) == []

        context.set_offline(False)
        sent = status.locator("[data-offline=sent]")
        sent.wait_for(timeout=15000)
        _shot(page, tmp_path, "sent")
        assert "not yet sent" not in status.inner_text()
        stored = _records(sessions)
        assert len(stored) == 1
        code = codes.format_code(stored[0].receipt_code)
        assert code in sent.inner_text()
        assert stored[0].location_description == PLACE
        # Acknowledged, so erased from the phone.
        assert _store(page)["records"] == []

        sent.get_by_role("link", name="Open the receipt").click()
        page.wait_for_url("**/receipt")
        assert page.locator(".code").inner_text().strip() == code
        context.close()


def test_an_answer_lost_on_the_way_back_is_sent_again_and_stored_once(browser, app, sessions, officer):
    """The server stores the record but the phone never hears back: the retry finds the same record."""
    with live_server(app) as base:
        context = browser.new_context(**PHONE, service_workers="block")
        page = context.new_page()
        page.goto(f"{base}/engagements/new")
        _sign_in(page, base, *officer)
        page.wait_for_selector("html[data-offline-ready]", state="attached")
        lost = []

        def lose_answer(route) -> None:
            if route.request.method == "POST" and not lost:
                route.fetch()  # reaches the server, which stores the record
                lost.append(True)
                route.abort("connectionreset")
            else:
                route.continue_()

        page.route("**/engagements/new", lose_answer)
        fill_compliant_form(page, PLACE, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.locator("#offline-status").get_by_text("Saved on this phone, not yet sent").wait_for()
        assert lost and len(_records(sessions)) == 1
        assert [r["state"] for r in _store(page)["records"]] == ["queued"]

        # Sent again, twice at once: the form_key makes both the one record already stored.
        page.evaluate(
            "() => { window.dispatchEvent(new Event('online')); window.dispatchEvent(new Event('online')); }"
        )
        sent = page.locator("#offline-status [data-offline=sent]")
        sent.wait_for(timeout=15000)
        stored = _records(sessions)
        assert len(stored) == 1
        assert codes.format_code(stored[0].receipt_code) in sent.inner_text()
        assert _store(page)["records"] == []
        context.close()


def test_half_a_form_survives_an_expired_session_and_comes_back_after_sign_in(
    browser, app, sessions, officer, tmp_path
):
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        fill_form_first_half(page, PLACE)
        page.locator("input[name=informed][value=yes]").check()
        _wait_for_kept(page, 1)
        form_key = page.locator("input[name=form_key]").input_value()

        # Thirty idle minutes pass.
        with sessions.begin() as s:
            s.execute(update(UserSession).values(last_seen_at=datetime.now(UTC) - timedelta(hours=1)))
        page.get_by_role("button", name="Check and save").click()
        status = page.locator("#offline-status")
        status.get_by_text("Your session ended. Sign in again: this record is kept on this phone.").wait_for()
        _shot(page, tmp_path, "session-ended")
        assert [r["state"] for r in _store(page)["records"]] == ["draft"]

        status.get_by_role("link", name="Sign in").click()
        page.wait_for_url("**/login**")
        assert "Your session ended" in page.locator("main").inner_text()
        _sign_in(page, base, *officer)
        status.get_by_text("Your draft was brought back from this phone.").wait_for()
        _shot(page, tmp_path, "draft-restored")
        assert page.locator("#place").input_value() == PLACE
        assert page.get_by_label("None of these applies").is_checked()
        assert page.locator("input[name=informed][value=yes]").is_checked()
        assert page.locator("input[name=form_key]").input_value() == form_key
        assert "pulling on the handles" in page.get_by_label("In your own words").input_value()

        # Finished and saved: one record, the receipt page, and nothing left on the phone.
        fill_form_second_half(page, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url("**/receipt")
        assert len(_records(sessions)) == 1
        assert _store(page)["records"] == []
        context.close()


def test_a_reload_after_the_session_ended_says_so_and_signing_in_brings_the_draft_back(
    browser, app, sessions, officer
):
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        page.locator("#place").fill(PLACE)
        _wait_for_kept(page, 1)
        with sessions.begin() as s:
            s.execute(update(UserSession).values(last_seen_at=datetime.now(UTC) - timedelta(hours=1)))
        page.reload()
        page.wait_for_url("**/login**")
        assert page.locator("#session-ended").is_visible()
        _sign_in(page, base, *officer)
        page.locator("#offline-status").get_by_text("Your draft was brought back").wait_for()
        assert page.locator("#place").input_value() == PLACE
        context.close()


def test_another_officer_on_the_same_phone_never_sees_the_draft(browser, app, world, officer):
    world.officer("T5252", "D14")
    world.user("bea", "officer", badge="T5252", password="another-officer-pass")
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        page.locator("#place").fill(PLACE)
        _wait_for_kept(page, 1)
        assert page.evaluate(KEPT_FORM)
        page.get_by_role("button", name=f"Sign out ({ADA})").click()
        page.wait_for_url(f"{base}/")
        kept = _store(page)
        # Signing out erased the key: the draft stays sealed, and nothing on the phone opens it.
        assert kept["keys"] == [] and len(kept["records"]) == 1
        # And the service worker's copy of the form page, which names the officer.
        for _ in range(50):
            if not page.evaluate(KEPT_FORM):
                break
            page.wait_for_timeout(100)
        assert not page.evaluate(KEPT_FORM)

        page.goto(f"{base}/login")
        _sign_in(page, base, "bea", "another-officer-pass")
        _ready(page)
        assert page.locator("#place").input_value() == ""
        assert "draft" not in page.locator("#offline-status").inner_text().lower()
        owners = {k["owner"] for k in _store(page)["keys"]}
        assert len(owners) == 1 and kept["records"][0]["owner"] not in owners

        page.get_by_role("button", name="Sign out (bea)").click()
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/login")
        _sign_in(page, base, *officer)
        page.locator("#offline-status").get_by_text("Your draft was brought back").wait_for()
        assert page.locator("#place").input_value() == PLACE
        context.close()


def test_a_record_refused_by_the_rules_shows_its_problems_in_place_and_stays_a_draft(
    browser, app, sessions, officer
):
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        fill_form_first_half(page, PLACE)
        page.get_by_role("button", name="Check and save").click()
        page.locator("#error-summary").wait_for()
        assert page.locator("#informed[aria-invalid=true]").count() == 1
        assert page.locator("#place").input_value() == PLACE
        assert [r["state"] for r in _store(page)["records"]] == ["draft"]
        assert _records(sessions) == []
        fill_form_second_half(page, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url("**/receipt")
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Engagement)) == 1
        assert _store(page)["records"] == []
        context.close()


def test_without_script_the_form_still_saves(browser, app, sessions, officer):
    with live_server(app) as base:
        context = browser.new_context(**PHONE, java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{base}/engagements/new")
        _sign_in(page, base, *officer)
        fill_compliant_form(page, PLACE, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url("**/receipt")
        assert len(_records(sessions)) == 1
        context.close()


def test_the_app_installs_from_a_manifest_and_its_icons(browser, app, officer):
    with live_server(app) as base:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.goto(f"{base}/login")
        href = page.locator("link[rel=manifest]").get_attribute("href")
        manifest = page.request.get(f"{base}{href}").json()
        assert manifest["start_url"] == "/engagements/new" and manifest["display"] == "standalone"
        for icon in manifest["icons"]:
            answer = page.request.get(f"{base}{icon['src']}")
            assert answer.ok and answer.headers["content-type"] == "image/png"
            assert answer.body()[:8] == b"\x89PNG\r\n\x1a\n"
        context.close()


def test_a_draft_and_an_unsent_record_survive_a_restart(browser, app, sessions, officer, tmp_path):
    """The browser ends with a draft and an unsent record, and starts again from its profile."""
    from live import CHROMIUM_ARGS, chromium_path

    profile = tmp_path / "profile"
    with live_server(app) as base:
        context = browser.browser_type.launch_persistent_context(
            str(profile), executable_path=chromium_path(), args=CHROMIUM_ARGS, **PHONE
        )
        page = context.new_page()
        page.goto(f"{base}/engagements/new")
        _sign_in(page, base, *officer)
        _ready(page)
        context.set_offline(True)
        fill_compliant_form(page, PLACE, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.locator("#offline-status").get_by_text("Saved on this phone, not yet sent").wait_for()
        page.locator("#place").fill("Half-typed place")
        _wait_for_kept(page, 2)
        # The browser ends (a flat battery, a restart) and opens again on the same profile, connected.
        context.close()

        context = browser.browser_type.launch_persistent_context(
            str(profile), executable_path=chromium_path(), args=CHROMIUM_ARGS, **PHONE
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{base}/engagements/new")
        _ready(page)
        # Sent by the page, or by the service worker as the browser came back online (Background Sync,
        # which may run before any page opens): stored once either way, and erased from the phone.
        for _ in range(150):
            if [r["state"] for r in _store(page)["records"]] == ["draft"] and _records(sessions):
                break
            page.wait_for_timeout(100)
        assert [r["state"] for r in _store(page)["records"]] == ["draft"]
        assert len(_records(sessions)) == 1
        assert page.locator("#place").input_value() == "Half-typed place"
        page.reload()
        _ready(page)
        assert "not yet sent" not in page.locator("#offline-status").inner_text()
        context.close()


def test_a_record_sent_later_and_refused_comes_back_to_be_fixed(browser, app, sessions, officer, tmp_path):
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        context.set_offline(True)
        fill_form_first_half(page, PLACE)  # the informing and receipt answers are missing
        page.get_by_role("button", name="Check and save").click()
        status = page.locator("#offline-status")
        status.get_by_text("Saved on this phone, not yet sent").wait_for()

        context.set_offline(False)
        refused = status.locator("[data-offline=refused]")
        refused.wait_for(timeout=15000)
        _shot(page, tmp_path, "refused")
        assert _records(sessions) == []
        assert [r["state"] for r in _store(page)["records"]] == ["refused"]
        # Nothing waits to be sent any more, and the page no longer says so.
        assert "not yet sent" not in status.inner_text()

        refused.get_by_role("button", name="Open it in the form").click()
        page.locator("#error-summary").wait_for()
        assert page.locator("#informed[aria-invalid=true]").count() == 1
        assert page.locator("#place").input_value() == PLACE
        _ready(page)
        fill_form_second_half(page, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url("**/receipt")
        assert len(_records(sessions)) == 1
        assert _store(page)["records"] == []
        context.close()


def test_two_records_kept_offline_are_both_sent_each_once(browser, app, sessions, officer):
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        context.set_offline(True)
        status = page.locator("#offline-status")
        for _ in range(2):
            fill_compliant_form(page, PLACE, NAME)
            page.get_by_role("button", name="Check and save").click()
            page.wait_for_function("() => document.querySelector('#place').value === ''")
        status.get_by_text("Records saved on this phone, not yet sent: 2").wait_for()
        kept = _store(page)["records"]
        assert len({r["id"] for r in kept}) == 2 and {r["state"] for r in kept} == {"queued"}

        context.set_offline(False)
        page.wait_for_function(
            "() => document.querySelectorAll('#offline-status [data-offline=sent]').length === 2"
        )
        stored = _records(sessions)
        assert len(stored) == 2
        text = status.inner_text()
        assert all(codes.format_code(e.receipt_code) in text for e in stored)
        assert "not yet sent" not in text
        assert _store(page)["records"] == []
        context.close()


def _kept_owner(page) -> str:
    import re

    found = re.search(r'data-offline-owner="([0-9a-f]+)"', page.evaluate(KEPT_TEXT))
    return found.group(1) if found else ""


def test_the_kept_form_names_no_one_and_follows_whoever_signs_in(browser, app, sessions, world, officer):
    """The copy the phone keeps for opening the form offline holds no username and no recent answer."""
    world.officer("T5353", "D14")
    world.user(CLEO, "officer", badge="T5353", password="a-third-officer-pass")
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        fill_compliant_form(page, PLACE, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url("**/receipt")
        page.goto(f"{base}/engagements/new")
        _ready(page)
        # The live page offers the officer's recent place and names them; the kept copy does neither.
        escaped = PLACE.replace("&", "&amp;")
        assert escaped in page.content() and f"Sign out ({ADA})" in page.content()
        kept = page.evaluate(KEPT_TEXT)
        assert 'name="place"' in kept
        assert ADA not in kept and escaped not in kept
        assert "parked car doors" not in kept and NAME not in kept
        ada = _kept_owner(page)
        assert ada and ada == page.locator("form[data-offline-owner]").get_attribute("data-offline-owner")

        # Another officer signs in on the same phone without the first signing out: the kept copy follows.
        context.clear_cookies()
        page.goto(f"{base}/login")
        _sign_in(page, base, CLEO, "a-third-officer-pass")
        cleo = page.locator("form[data-offline-owner]").get_attribute("data-offline-owner")
        for _ in range(50):
            if _kept_owner(page) == cleo:
                break
            page.wait_for_timeout(100)
        assert _kept_owner(page) == cleo != ada
        assert CLEO not in page.evaluate(KEPT_TEXT)
        context.close()


SYNC_TAGS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return registration.sync ? await registration.sync.getTags() : null;
}"""


def test_a_record_kept_offline_is_sent_by_the_service_worker_with_no_page_open(
    browser, app, sessions, officer
):
    """Background Sync: the page hands the waiting record to the worker, which sends it page or no page."""
    with live_server(app) as base:
        context, page = _phone_at_the_form(browser, base, officer)
        context.set_offline(True)
        fill_compliant_form(page, PLACE, NAME)
        page.get_by_role("button", name="Check and save").click()
        page.locator("#offline-status").get_by_text("Saved on this phone, not yet sent").wait_for()
        tags = None
        for _ in range(50):
            tags = page.evaluate(SYNC_TAGS)
            if tags:
                break
            page.wait_for_timeout(100)
        assert tags == ["fairengage-send"]

        # Every FairEngage page closed; only a blank tab is left to keep the browser's session.
        blank = context.new_page()
        page.close()
        assert _records(sessions) == []
        context.set_offline(False)
        # What the browser does when the connection returns, asked for through DevTools so that the test
        # does not depend on how the browser notices the network.
        cdp = context.new_cdp_session(blank)
        registrations: list[dict] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")
        for _ in range(50):
            if registrations:
                break
            blank.wait_for_timeout(100)
        ours = [r for r in registrations if r["scopeURL"].startswith(base) and not r["isDeleted"]]
        assert ours
        sync = {"origin": base, "registrationId": ours[0]["registrationId"], "tag": "fairengage-send"}
        for attempt in range(100):
            if _records(sessions):
                break
            if attempt % 20 == 0:  # once, then again only if a round came to nothing
                cdp.send("ServiceWorker.dispatchSyncEvent", {**sync, "lastChance": False})
            blank.wait_for_timeout(100)
        stored = _records(sessions)
        assert len(stored) == 1 and stored[0].location_description == PLACE
        # Erased from the phone once acknowledged, without a page having opened it.
        blank.goto(f"{base}/r")
        for _ in range(50):
            if _store(blank)["records"] == []:
                break
            blank.wait_for_timeout(100)
        assert _store(blank)["records"] == []
        context.close()
