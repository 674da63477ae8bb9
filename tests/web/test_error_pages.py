"""Every error a page route gives is a page in the reader's language; the API keeps problem+json."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from access.estate import PASSWORD, sign_in

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def supervisor(app, world) -> TestClient:
    def crash() -> None:
        raise RuntimeError("a planted failure, for the error page")

    app.add_api_route("/planted-crash", crash, include_in_schema=False)
    world.officer("S31", "D14")
    world.user("sup31", "supervisor", badge="S31", password=PASSWORD)
    client = TestClient(app, raise_server_exceptions=False)
    sign_in(client, "sup31")
    return client


CASES = [
    ("GET", "/no-such-page", 404, "Page introuvable", "Page not found"),
    ("GET", "/engagements/not-a-record/receipt", 404, "Page introuvable", "Page not found"),
    ("GET", "/review/not-a-record", 404, "Page introuvable", "Page not found"),
    ("GET", "/admin/users", 403, "Vous n'avez pas accès à cette page", "You do not have access to this page"),
    ("GET", "/review?offset=many", 422, "Certaines valeurs n'ont pas pu être acceptées", "Some values"),
    ("GET", "/review/x/decision", 405, "Impossible sur cette page", "That cannot be done on this page"),
    ("GET", "/planted-crash", 500, "Un problème est survenu de notre côté", "Something went wrong"),
]


@pytest.mark.parametrize(("method", "path", "status", "french", "english"), CASES)
def test_a_browser_gets_a_page_in_its_language(supervisor, method, path, status, french, english):
    for lang, title in (("fr", french), ("en", english)):
        answer = supervisor.request(method, path, headers={**HTML, "Accept-Language": lang})
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert f'<html lang="{lang}"' in answer.text and title in answer.text.replace("&#39;", "'")
        assert not answer.text.lstrip().startswith("{") and '"title":' not in answer.text


def test_a_422_page_names_the_value_at_fault(supervisor):
    answer = supervisor.get("/review?offset=many", headers=HTML)
    assert "Values at fault: offset" in answer.text


def test_a_french_page_never_shows_an_english_service_message(supervisor):
    answer = supervisor.get("/review/not-a-record", headers={**HTML, "Accept-Language": "fr"})
    assert "no such record in your review scope" not in answer.text
    assert "Cette page n'existe pas" in answer.text.replace("&#39;", "'")


def test_a_script_asking_for_json_and_the_api_get_problem_json(supervisor, world):
    answer = supervisor.get("/review/not-a-record", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"
    token = {"Authorization": f"Bearer {world.token('sup31')}"}
    for path, status in (("/api/v1/engagements/nope", 404), ("/api/v1/officers/expiring?days=x", 422)):
        api = supervisor.get(path, headers={**HTML, **token})
        assert api.status_code == status and api.headers["content-type"] == "application/problem+json"
        assert api.json()["status"] == status
