"""Generated requests for every operation in /openapi.json: never a server error; API errors are problem+json.

Schemathesis draws requests from the OpenAPI description, fitting it (positive) and breaking it (negative),
and sends them in process to the app on the test database (SQLite, or PostgreSQL in CI's second pass),
each with the API token of a real user of some role, or none. The seed is fixed (`derandomize`), so a
failure found once is found again on every run, and is reported with a curl command that repeats it.
Over 4,000 requests in all; a pass takes about a minute on two cores (`pytest -n 2`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from builders import valid_body
from fairengage.app import create_app
from fairengage.config import Settings
from fairengage.engagements.schemas import EngagementIn
from fairengage.policy import load_rulesets
from fairengage.web.problems import MEDIA_TYPE

# Thousands of generated requests.
pytestmark = pytest.mark.slow

# Cases per operation and generation mode. Recording is where the rules, the idempotency keys and the
# database writes are, so it gets the most; an operation not listed gets DEFAULT_BUDGET.
BUDGET = {
    "POST /api/v1/engagements": 1200,
    "GET /api/v1/engagements": 400,
    "GET /api/v1/engagements/{engagement_id}": 250,
    "GET /api/v1/rulesets/current": 150,
    "GET /api/v1/rulesets/{ruleset_id}": 150,
}
DEFAULT_BUDGET = 150
# Who sends each request: a user of each role, a second officer elsewhere, a bad token and nobody.
ROLES = ("officer", "other-officer", "supervisor", "auditor", "analyst", "admin", "bad-token", "anonymous")


def _operations() -> list[Any]:
    """Each operation the app describes now, in each mode it allows, so that a new one is fuzzed too."""
    described = create_app(Settings(database_url="sqlite://", secret_key="x" * 32, debug=True)).openapi()
    found = []
    for path, item in described["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            parameters = operation.get("parameters", [])
            takes_input = bool(parameters or operation.get("requestBody"))
            found.append(pytest.param(label, GenerationMode.POSITIVE, takes_input, id=f"{label} positive"))
            # A path parameter arrives as text whatever is sent, so an operation whose only input is a
            # path string has no request that breaks its description.
            if operation.get("requestBody") or any(p["in"] != "path" for p in parameters):
                found.append(pytest.param(label, GenerationMode.NEGATIVE, True, id=f"{label} negative"))
    return found


OPERATIONS = _operations()


@dataclass
class Fuzzing:
    """The schema loaded from the running app, the callers' headers, and ids that exist."""

    schema: Any
    headers: dict[str, dict[str, str]]
    engagement_ids: list[str]


@pytest.fixture
def fuzzing(app, world) -> Iterator[Fuzzing]:  # type: ignore[no-untyped-def]
    """The app with one user per role and a few records, and its OpenAPI description as a schema."""
    world.officer("9001", "D14")
    world.officer("9002", "D52")
    world.user("officer", "officer", badge="9001")
    world.user("other-officer", "officer", badge="9002")
    world.user("supervisor", "supervisor", division="D14")
    for role in ("auditor", "analyst", "admin"):
        world.user(role, role)
    users = ("officer", "other-officer", "supervisor", "auditor", "analyst", "admin")
    headers = {name: {"Authorization": f"Bearer {world.token(name)}"} for name in users}
    headers["bad-token"] = {"Authorization": "Bearer fe_not-a-token"}
    headers["anonymous"] = {}
    ids = []
    for number in range(3):
        body = valid_body(reason=f"Record {number}: seen trying the doors of parked cars.")
        ids.append(_record(app, headers["officer"], body))
    # Loading starts the app's lifespan (its audit sealer) and Schemathesis keeps it running for the
    # rest of the process unless told otherwise: stop it, so that no test's app outlives its database.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=schemathesis.Config())
    try:
        yield Fuzzing(schema=schema, headers=headers, engagement_ids=ids)
    finally:
        shutdown_lifespans()


def _record(app: Any, headers: dict[str, str], body: dict[str, Any]) -> str:
    with TestClient(app) as client:
        response = client.post("/api/v1/engagements", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def problem_json(ctx: Any, response: Any, case: Any) -> None:
    """An API error is application/problem+json with type, title and status (and errors on a 422)."""
    if response.status_code < 400 or not case.formatted_path.startswith("/api/"):
        return
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert media == MEDIA_TYPE, f"{response.status_code} answered as {media!r}, not {MEDIA_TYPE}"
    body = json.loads(response.content)
    assert isinstance(body.get("type"), str) and body["type"], "no `type`"
    assert isinstance(body.get("title"), str) and body["title"], "no `title`"
    status = body.get("status")
    assert status == response.status_code, f"`status` {status} on a {response.status_code}"
    errors = body.get("errors")
    if response.status_code == 422:
        assert isinstance(errors, list) and errors, "a 422 without `errors`"
    for error in errors or []:
        assert {"field", "rule", "message"} <= set(error), f"an error without field, rule, message: {error}"
        assert all(isinstance(error[key], str) and error[key] for key in ("field", "rule")), error


CHECKS: list[Callable[..., Any]] = [not_a_server_error, problem_json]


def _strategy(fuzzing: Fuzzing, operation: Any, mode: GenerationMode) -> st.SearchStrategy[Any]:
    strategy = operation.as_strategy(generation_mode=mode)
    if not mode.is_positive:
        return strategy
    if f"{operation.method.upper()} {operation.path}" == "POST /api/v1/engagements":
        # Random bodies nearly always break a rule; a valid record with a field or two drawn at random
        # reaches the rest: findings, receipt codes, idempotent replays, the database write.
        fields = st.sets(st.sampled_from(sorted(EngagementIn.model_fields)), max_size=2)
        strategy = st.one_of(strategy, st.tuples(strategy, fields).map(_near_valid))
    # Random ids never exist: most reads ask for records and rule sets that do.
    known = {
        "engagement_id": fuzzing.engagement_ids,
        "ruleset_id": [r.id for r in load_rulesets()],
    }
    for name, values in known.items():
        if "{" + name + "}" in operation.path:
            fixed = [operation.as_strategy(generation_mode=mode, path_parameters={name: v}) for v in values]
            strategy = st.one_of(strategy, *fixed)
    return strategy


def _near_valid(drawn: tuple[Any, set[str]]) -> Any:
    case, fields = drawn
    if isinstance(case.body, dict):
        case.body = {**valid_body(), **{k: v for k, v in case.body.items() if k in fields}}
    return case


def test_a_few_thousand_requests_are_sent_in_all():
    total = sum(BUDGET.get(p.values[0], DEFAULT_BUDGET) for p in OPERATIONS if p.values[2])
    assert total >= 4000, total


@pytest.mark.parametrize(("label", "mode", "takes_input"), OPERATIONS)
def test_generated_requests_never_fail_the_server_and_errors_are_problems(fuzzing, label, mode, takes_input):
    method, path = label.split(" ", 1)
    operation = fuzzing.schema[path][method]
    budget = BUDGET.get(label, DEFAULT_BUDGET)
    sent = 0

    @settings(
        max_examples=budget,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(fuzzing, operation, mode), role=st.sampled_from(ROLES))
    def send(case: Any, role: str) -> None:
        nonlocal sent
        sent += 1
        headers = fuzzing.headers[role]
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    send()
    # Hypothesis stops early only when it has tried every distinct request: for an operation without
    # input, one per caller.
    assert sent >= (budget if takes_input else len(ROLES)), sent
