"""A French officer reads every problem with the form in French: no English sentence from the checks."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from builders import compliant_form
from fairengage import policy
from fairengage.engagements import service
from fairengage.web.i18n import translations


def sign_in(client, world) -> str:
    world.officer("T800", "D52", name="Jordan Lee")
    world.user("oT800", "officer", badge="T800", password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "oT800", "password": "a-long-password", "csrftoken": token})
    return re.search(r'name="csrftoken" value="([^"]+)"', client.get("/engagements/new").text).group(1)


def good_form(csrf: str, **overrides) -> dict:
    return compliant_form(csrf, **{"form_key": "k-1", **overrides})


def english_sentences() -> set[str]:
    """Every English message the checks and the rule sets can write, where its French differs."""
    fr = translations("fr")
    found = {m for m in service.CHECK_MESSAGES if fr.gettext(m) != m}
    for ruleset in policy.load_rulesets():
        for rule in ruleset.rules:
            found |= {rule.message("en"), rule.message("en", flag=True)}
            found |= {words["en"] for words in rule.variants.values()}
    return {s for s in found if len(s) > 12}


def summary(page: str) -> list[str]:
    block = re.search(r'id="error-summary".*?</ul>', page, flags=re.S)
    assert block, "no error summary"
    return [
        html.unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", block[0])
    ]


BAD_ANSWERS = {
    "time in the future, contraband where not searched, an unknown outcome": {
        "occurred_at": (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "searched": "no",
        "contraband_found": "yes",
        "outcome": "not-an-outcome",
    },
    "a date before any rule set": {"occurred_at": "1990-01-01T10:00"},
    "unreadable answers and a division that is not the service's": {
        "perceived_age": "old",
        "division": "D99",
        "occurred_at": "yesterday",
    },
    "race as the reason, nothing answered about informing": {
        "reason_grounds": [],
        "reason": "Black male on the corner",
        "informed": "",
        "informed_why": "",
        "receipt_offered": "",
    },
    "a forbidden reason alone": {"reason_grounds": ["declined_to_answer"], "reason": "Refused to answer me."},
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_bad_answers_on_a_french_page_show_no_english(client, world, case):
    csrf = sign_in(client, world)
    client.cookies.set("lang", "fr")
    r = client.post("/engagements/new", data=good_form(csrf, **BAD_ANSWERS[case]))
    assert r.status_code == 422, r.text[:300]
    assert '<html lang="fr">' in r.text
    shown = summary(r.text)
    assert shown, case
    english = english_sentences()
    left = [m for m in shown if m in english or any(e in m for e in english)]
    assert not left, (case, left)
    # The live check answers in the same language as the page.
    checked = client.post("/engagements/check", data=good_form(csrf, **BAD_ANSWERS[case])).json()
    live = [f["message"] for f in checked["findings"]]
    assert live and not [m for m in live if m in english], (case, live)


def test_the_future_is_said_in_french_and_kept_in_english_for_the_api(client, world):
    csrf = sign_in(client, world)
    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    client.cookies.set("lang", "fr")
    french = summary(client.post("/engagements/new", data=good_form(csrf, occurred_at=future)).text)
    assert "l'heure indiquée est dans le futur" in french
    client.cookies.set("lang", "en")
    english = summary(client.post("/engagements/new", data=good_form(csrf, occurred_at=future)).text)
    assert service.IN_THE_FUTURE in english


def test_the_check_is_not_blind():
    """The English the walk looks for includes the checks' own words and the rule sets'."""
    english = english_sentences()
    assert service.IN_THE_FUTURE in english
    assert any("race" in s.lower() for s in english)
