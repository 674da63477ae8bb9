"""RFC 9457 problem+json for every error the API returns, mapped in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fairengage.errors import DomainError
from fairengage.web.i18n import N_, pick_language, translations
from fairengage.web.templating import render

PROBLEM_BASE = "https://fairengage.org/problems/"
MEDIA_TYPE = "application/problem+json"

# Which rule a schema error on a field breaks, so that even type errors name a rule.
FIELD_RULES: dict[str, str] = {
    "purpose": "SCOPE-PURPOSE",
    "scope_exclusion": "SCOPE-EXCLUDED",
    "reason": "REASON-REQUIRED",
    "reason_grounds": "FORBIDDEN-REASONS",
    "description_match": "RACE-NOT-A-REASON",
    "description_elements": "RACE-NOT-A-REASON",
    "informed": "INFORM-RIGHT",
    "inform_exception": "INFORM-RIGHT",
    "inform_exception_details": "INFORM-RIGHT",
    "informed_why": "INFORM-WHY",
    "inform_why_exception": "INFORM-WHY",
    "receipt_offered": "RECEIPT-OFFER",
    "receipt_exception": "RECEIPT-OFFER",
    "receipt_exception_details": "RECEIPT-OFFER",
    "perceived_race": "RECORD-CONTENTS",
    "perceived_gender": "RECORD-CONTENTS",
    "perceived_age": "RECORD-CONTENTS",
    "identifying_info_collected": "RECORD-CONTENTS",
    "occurred_at": "VALID-TIME",
    "division": "VALID-DIVISION",
    "location": "RECEIPT-CONTENT",
}


def problem(
    status: int,
    title: str,
    slug: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # A list position reads as it is written in JSON paths: people[2].perceived_age.
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header"):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _schema_rule(field: str, error_type: str) -> str:
    if error_type == "extra_forbidden":
        return "UNKNOWN-FIELD"
    if error_type == "json_invalid":
        return "VALID-JSON"
    # One person of an encounter answers the same rules as a single record's person.
    if field.startswith("people[") and "]." in field:
        field = field.split("].", 1)[1]
    top = field.split(".", 1)[0].split("[", 1)[0]
    return FIELD_RULES.get(top, "VALID-TYPE")


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as {field, rule, message}."""
    out = []
    for err in exc.errors():
        # A JSON syntax error's location is ("body", offset): the offset is not a field.
        loc = ("body",) if err.get("type") == "json_invalid" else tuple(err.get("loc", ()))
        field = _field_path(loc)
        out.append(
            {"field": field, "rule": _schema_rule(field, err.get("type", "")), "message": err.get("msg", "")}
        )
    return out


DATA_SUFFIXES = (".json", ".jsonl", ".csv")


def wants_page(request: Request) -> bool:
    """Pages answer errors with a page; the API (and clients asking for JSON) with problem+json."""
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return False
    accept = request.headers.get("accept", "")
    if request.url.path.endswith(DATA_SUFFIXES):
        # A file download (an export, open data) is read by scripts as often as by browsers: only a
        # browser's navigation, which asks for HTML, gets a page.
        return "text/html" in accept
    return "text/html" in accept or "json" not in accept


# What a browser is told for each error, in its language: a heading and a sentence saying what to do.
PAGE_TITLES: dict[int, str] = {
    400: N_("The request could not be read"),
    401: N_("Please sign in"),
    403: N_("You do not have access to this page"),
    404: N_("Page not found"),
    405: N_("That cannot be done on this page"),
    409: N_("That cannot be done now"),
    422: N_("Some values could not be accepted"),
    500: N_("Something went wrong on our side"),
}
PAGE_DETAILS: dict[int, str] = {
    400: N_("Nothing was stored. Go back, reload the page and try again."),
    401: N_("Sign in, then open the page again."),
    403: N_("Your role does not allow this. If you think it should, ask your administrator."),
    404: N_("The page does not exist, or it is not one you may see."),
    405: N_("This address does not take that kind of request. Go back and use the page's buttons and links."),
    409: N_("It may already have been done, or changed meanwhile. Open it again to see where it stands."),
    422: N_("The address or the form held a value that is not allowed. Nothing was stored."),
    500: N_(
        "The service failed to answer. Nothing was lost that was already saved; try again in a moment, "
        "and tell your administrator if it keeps happening."
    ),
}


def error_page(
    request: Request, status: int, title: str = "", detail: str = "", fields: str = ""
) -> HTMLResponse:
    """An error as a page in the site's layout, in the visitor's language.

    `detail` is shown when the catalogue translates it (or the page is in English); otherwise the
    status's own sentence is, so that a French page never carries an English service message. `fields`
    names the values at fault (a 422), as the API's problem does.
    """
    lang = pick_language(request)
    gettext = translations(lang).gettext
    said = gettext(detail) if detail else ""
    if not said or (lang != "en" and said == detail):
        said = gettext(PAGE_DETAILS.get(status, PAGE_DETAILS[400]))
    heading = PAGE_TITLES.get(status) or title or PAGE_TITLES[400]
    return render(
        request,
        "error.html",
        {"title": heading, "detail": said, "fields": fields},
        status_code=status,
        lang=lang,
    )


def _fields(errors: list[dict[str, Any]]) -> str:
    return ", ".join(dict.fromkeys(e["field"] for e in errors))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every API error into problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if wants_page(request):
            return error_page(request, exc.status, exc.title, str(exc))
        return problem(
            exc.status,
            exc.title,
            exc.slug,
            str(exc),
            [e.as_dict() for e in exc.errors] or None,
            instance=request.url.path,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if wants_page(request):
            return error_page(request, 422, fields=_fields(validation_errors(exc))[:200])
        return problem(
            422,
            "The request is not valid",
            "invalid-request",
            "one or more fields are missing, of the wrong type or not allowed; nothing was stored",
            validation_errors(exc),
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # Starlette sends this answer, then re-raises so that the server still logs the traceback.
        if wants_page(request):
            try:
                return error_page(request, 500)
            except Exception:  # the page itself failed (a template, the catalogue): plain words will do
                return PlainTextResponse("Internal Server Error", status_code=500)
        return problem(
            500,
            "Internal server error",
            "internal-error",
            "the service failed to answer; try again (with the same Idempotency-Key when recording)",
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request):
            return error_page(request, exc.status_code, str(exc.detail or "Error"), "")
        slug = {401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}.get(
            exc.status_code, "http-error"
        )
        return problem(
            exc.status_code,
            str(exc.detail) if exc.detail else "Error",
            slug,
            str(exc.detail or ""),
            instance=request.url.path,
        )
