"""Every radio and checkbox group on the officer's form is named by its question, so a screen reader says
the question before "Yes, No"."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

GROUP = re.compile(r'<div[^>]*\brole="(radiogroup|group)"[^>]*>')


def sign_in(client, world, settings) -> None:
    world.officer("G7", "D14", trained_on=datetime.now(settings.tz).date() - timedelta(days=3))
    world.user("ogroups", "officer", badge="G7", password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "ogroups", "password": "a-long-password", "csrftoken": token})


def names_of(page: str) -> dict[str, str]:
    """Each group's id and the text of the elements its aria-labelledby names ('' when unnamed)."""
    found = {}
    for tag in GROUP.finditer(page):
        group_id = re.search(r'\bid="([^"]+)"', tag.group(0)).group(1)
        ids = re.search(r'\baria-labelledby="([^"]+)"', tag.group(0))
        text = ""
        for ref in ids.group(1).split() if ids else []:
            element = re.search(rf'<(\w+)[^>]*\bid="{re.escape(ref)}"[^>]*>(.*?)</\1>', page, re.S)
            text += html.unescape(re.sub(r"<[^>]+>", "", element.group(2))).strip() if element else ""
        found[group_id] = text
    return found


def test_every_group_on_the_form_is_named_by_its_question(client, world, settings):
    sign_in(client, world, settings)
    names = names_of(client.get("/engagements/new").text)
    radios = {
        "scope",
        "purpose",
        "informed",
        "informed_why",
        "receipt_offered",
        "perceived_race",
        "perceived_gender",
        "identifying_info_collected",
        "searched",
        "contraband_found",
    }
    assert radios | {"reason_grounds-group", "description_elements-group"} <= set(names)
    unnamed = sorted(group for group, text in names.items() if not text)
    assert not unnamed, f"groups without a name: {unnamed}"
    assert "Did you tell them why you are asking?" in names["informed_why"]
    assert names["searched"] == "Was the person searched?"


def test_groups_stay_named_when_the_form_comes_back_with_problems(client, world, settings):
    sign_in(client, world, settings)
    csrf = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/engagements/new").text).group(1)
    page = client.post("/engagements/new", data={"csrftoken": csrf, "form_key": "g-1"}).text
    assert "error-summary" in page
    names = names_of(page)
    assert len(names) >= 12 and all(names.values()), names


def test_the_complaint_form_groups_are_named(client, world, settings):
    sign_in(client, world, settings)
    from builders import valid_body

    headers = {"Authorization": f"Bearer {world.token('ogroups')}"}
    code = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["receipt"]["code"]
    names = names_of(client.get(f"/r/{code}/complaint").text)
    assert names and all(names.values()), names
