"""Steps shared by the encounter page tests: an officer signed in, and the forms they fill."""

from __future__ import annotations

import re

from builders import compliant_form


def csrf_of(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def sign_in(client, world, badge: str = "T800") -> str:
    world.officer(badge, "D52", name="Jordan Lee")
    world.user(f"o{badge}", "officer", badge=badge, password="a-long-password")
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": f"o{badge}", "password": "a-long-password", "csrftoken": token})
    return csrf_of(client.get("/engagements/new").text)


def first_form(csrf: str, **overrides) -> dict:
    """The main form for the encounter's first person."""
    return compliant_form(csrf, **overrides)


def person_form(csrf: str, **overrides) -> dict:
    """The page for one more person of the encounter."""
    form = {
        "csrftoken": csrf,
        "form_key": "p-1",
        "perceived_race": "Black",
        "perceived_gender": "woman",
        "perceived_age": "31",
        "informed": "yes",
        "informed_why": "yes",
        "receipt_offered": "yes",
        "identifying_info_collected": "yes",
        "person_name": "Alex Second",
        "searched": "no",
        "outcome": "none",
    }
    form.update(overrides)
    return form
