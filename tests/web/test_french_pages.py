"""French pages say statuses, verdicts and category names in French, never the English word or raw code."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from builders import valid_body
from fairengage import policy
from fairengage.access.models import User
from fairengage.access.principal import Principal
from fairengage.review import service as review

LISTS = (
    "purposes",
    "scope_exclusions",
    "reason_grounds",
    "description_elements",
    "inform_exceptions",
    "receipt_exceptions",
    "perceived_race",
    "perceived_gender",
    "outcomes",
)
# Raw codes and the English words for statuses, decisions and verdicts that pages used to print.
RAW = re.compile(
    r"pending[_ ]review|non[_ ]compliant|awaiting review|returned for correction|\bapproved\b|\bflagged\b"
    r"|\b[A-Z0-9]+(?:-[A-Z0-9]+)+: (?:pass|fail|exception)\b"
    r"|\bongoing[_ ]investigation\b|\blegal[_ ]proceeding\b"
)


def visible_text(page: str) -> str:
    """What a reader sees: no tags, attributes, scripts or styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def english_category_names() -> list[str]:
    """Every category label whose French differs and does not contain the English (e.g. not 'PDF')."""
    names = set()
    for ruleset in policy.load_rulesets():
        for name in LISTS:
            for item in ruleset.items(name):
                en, fr = item.label("en"), item.label("fr")
                if en != fr and en not in fr:
                    names.add(en)
    return sorted(names, key=len, reverse=True)


def english_left(page: str) -> list[str]:
    text = visible_text(page)
    found = [m.group(0) for m in RAW.finditer(text)]
    found += [name for name in english_category_names() if name in text]
    return found


def principal_of(sessions, username: str) -> Principal:
    with sessions() as s:
        return Principal.of(s.scalars(select(User).where(User.username == username)).one())


def sign_in(client, username: str) -> None:
    client.cookies.clear()
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": username, "password": "a-long-password", "csrftoken": token})
    client.cookies.set("lang", "fr")


@pytest.fixture
def records(client, world, sessions, settings):
    """Records in every review state, flagged and not, with categories other than the default."""
    today = datetime.now(settings.tz).date()
    world.officer("T1", "D14", trained_on=today - timedelta(days=20), name="Jo Officer")
    world.user("o1", "officer", badge="T1", password="a-long-password")
    world.officer("S1", "D14", trained_on=date(2026, 1, 10), name="Sgt One")
    world.user("sup1", "supervisor", badge="S1", password="a-long-password")
    headers = {"Authorization": f"Bearer {world.token('o1')}"}
    bodies = {
        "pending": valid_body(perceived_race="Black", perceived_gender="woman", outcome="caution"),
        "returned": valid_body(
            reason="Walked away when I approached him near the station entrance late at night.",
            informed=False,
            inform_exception="safety",
        ),
        "approved": valid_body(),
        "non_compliant": valid_body(reason="Walked away from me at the station entrance late at night."),
    }
    ids = {}
    for name, body in bodies.items():
        r = client.post("/api/v1/engagements", json=body, headers=headers)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    sup = principal_of(sessions, "sup1")
    with sessions.begin() as s:
        for name, reason in (
            ("returned", "Say what you saw."),
            ("approved", ""),
            ("non_compliant", "No ground."),
        ):
            review.decide(
                session=s, principal=sup, engagement_id=ids[name], decision=name, reason=reason, today=today
            )
    return ids


def test_officer_pages_in_french_have_no_english_status_or_category(client, records):
    sign_in(client, "o1")
    pages = [
        "/engagements",
        "/engagements/new",
        f"/engagements/{records['returned']}/receipt",
        f"/engagements/{records['returned']}/correct",
        f"/engagements/{records['pending']}/receipt",
    ]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert '<html lang="fr">' in r.text, path
        assert not english_left(r.text), (path, english_left(r.text))
    listing = visible_text(client.get("/engagements").text)
    assert "en attente d'examen" in listing and "renvoyée pour correction" in listing


def test_supervisor_pages_in_french_have_no_english_status_or_category(client, records):
    sign_in(client, "sup1")
    pages = ["/review", "/review/summary", "/engagements", "/restricted"]
    pages += [f"/review/{records[name]}" for name in ("pending", "returned", "approved")]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert not english_left(r.text), (path, english_left(r.text))
    record = visible_text(client.get(f"/review/{records['returned']}").text)
    assert "renvoyée pour correction" in record and "signalée" in record and "exception applicable" in record
    assert "Noir" in visible_text(client.get(f"/review/{records['pending']}").text)


def test_the_check_catches_english(client, records):
    """The same walk in English finds what it looks for: the test is not blind."""
    sign_in(client, "sup1")
    client.cookies.set("lang", "en")
    assert english_left(client.get(f"/review/{records['returned']}").text)
    assert "Black" in english_left(client.get(f"/review/{records['pending']}").text)
