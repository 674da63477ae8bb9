"""The officer's recording form, the confirmation with the receipt, and the officer's own list."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from fairengage import policy
from fairengage.access.principal import Principal
from fairengage.engagements import offline, service
from fairengage.engagements.form import (
    ANCHORS,
    FORM_MESSAGES,
    PLAIN,
    PLAIN_MESSAGES,
    anchor_for,
    prompt_for,
    read_form,
)
from fairengage.engagements.location import division_at
from fairengage.engagements.recent import RecentChoices, recent_choices
from fairengage.errors import FieldError, Forbidden, RecordRefused
from fairengage.officers import service as officers
from fairengage.officers import training
from fairengage.receipts import codes, render
from fairengage.web.deps import (
    DbSession,
    PagePrincipal,
    PostedForm,
    sessions_of,
    settings_of,
)
from fairengage.web.i18n import pick_language, translations
from fairengage.web.params import Offset
from fairengage.web.templating import local_clock
from fairengage.web.templating import render as render_page

router = APIRouter(include_in_schema=False)
FORM_PERMISSIONS = "camera=(), microphone=(), geolocation=(self), payment=(), usb=()"


def form_choices(ruleset: policy.RuleSet, lang: str) -> dict[str, list[tuple[str, str]]]:
    """Each list the form offers, as (code, label) in `lang`; the encounter's person page uses it too."""
    names = (
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
    out = {name: [(item.code, item.label(lang)) for item in ruleset.items(name)] for name in names}
    forbidden = ruleset.forbidden_codes()
    out["allowed_grounds"] = [(c, label) for c, label in out["reason_grounds"] if c not in forbidden]
    out["forbidden_grounds"] = [(c, label) for c, label in out["reason_grounds"] if c in forbidden]
    return out


def message_for(error: FieldError, ruleset: policy.RuleSet, lang: str) -> str:
    """What the form says about one problem, in `lang`: a prompt for a missing answer, else the rule's."""
    prompt = prompt_for(error.field, error.rule)
    if error.message in FORM_MESSAGES:
        prompt = error.message
    if prompt:
        return translations(lang).gettext(prompt)
    if error.message in PLAIN_MESSAGES or error.message in service.CHECK_MESSAGES:
        return translations(lang).gettext(error.message)
    if error.rule == "VALID-DIVISION":
        # The form offers only the service's divisions: a wrong one is a stale or altered page.
        return translations(lang).gettext(PLAIN["division"])
    # English messages come from the check itself; other languages use the rule's translated message.
    if lang == "en":
        return error.message
    try:
        rule = ruleset.rule(error.rule)
    except policy.PolicyError:
        return error.message
    variant = next((name for name, words in rule.variants.items() if words["en"] == error.message), None)
    return rule.message(lang, variant=variant)


def _placed(errors: list[FieldError], ruleset: policy.RuleSet, lang: str) -> list[dict[str, str]]:
    """Each problem once, with the form element it belongs to and its words in the page's language."""
    seen: set[tuple[str, str]] = set()
    out = []
    for error in errors:
        anchor = anchor_for(error.field, error.rule)
        text = message_for(error, ruleset, lang)
        if (anchor, text) in seen:
            continue
        seen.add((anchor, text))
        out.append({"anchor": anchor, "message": text, "rule": error.rule, "field": error.field})
    return out


def judge_form(
    request: Request, principal: Principal, session: Session, form: Any
) -> tuple[Any, list[FieldError], list[FieldError], policy.RuleSet | None]:
    """The form's draft, every refusing problem (unreadable answers and rules together) and the flags.

    The rules judge what could be read even when some answers could not, so that the officer sees
    every problem the first time.
    """
    settings = settings_of(request)
    reading = read_form(form, settings.tz)
    draft = reading.draft or reading.probe
    errors = list(reading.errors)
    flags: list[FieldError] = []
    ruleset = None
    officer = officers.on_duty(session=session, officer_id=principal.officer_id)
    if draft is not None and officer is not None:
        judged = service.judge(session=session, draft=draft, officer=officer, settings=settings)
        # An answer that could not be read already has its problem; the stand-in's would only repeat it.
        unreadable = {e.field for e in reading.errors}
        errors += [e for e in judged.errors if e.field not in unreadable]
        if judged.evaluation is not None:
            ruleset = judged.evaluation.ruleset
            flags = [FieldError(f.field or "reason", f.code, f.message) for f in judged.evaluation.flags]
    return reading.draft, errors, flags, ruleset


def form_page(
    request: Request,
    principal: Principal,
    session: Session,
    values: dict[str, Any],
    errors: list[FieldError],
    status_code: int = 200,
    form_action: str = "/engagements/new",
    correcting: str | None = None,
    kept_copy: bool = False,
) -> HTMLResponse:
    """The recording form with `values` filled and each problem placed; also the correction form
    (review/correction.py), which passes its own `form_action` and the reason the record was returned.

    `kept_copy` (`?shell=1`) is the copy the phone keeps for opening the form with no connection
    (static/officer/worker.js): the same form, but nothing that names or describes the officer or their
    records (no username, no recent places or reasons), since it stays on the phone after they have gone.
    """
    settings = settings_of(request)
    lang = pick_language(request)
    now_local = datetime.now(settings.tz)
    ruleset = policy.ruleset_in_force(now_local.date())
    by_anchor: dict[str, list[str]] = {}
    summary = _placed(errors, ruleset, lang)
    for item in summary:
        by_anchor.setdefault(item["anchor"], []).append(item["message"])
    page = render_page(
        request,
        "engagement_form.html",
        {
            "choices": form_choices(ruleset, lang),
            "ruleset": ruleset,
            "divisions": officers.division_codes(session=session),
            "v": values,
            "errors": by_anchor,
            "summary": summary,
            "form_key": values.get("form_key") or str(uuid.uuid4()),
            "now_local": now_local.strftime("%Y-%m-%dT%H:%M"),
            "form_action": form_action,
            "correcting": correcting,
            "anchors": ANCHORS,
            "recent": RecentChoices([], [])
            if kept_copy
            else recent_choices(session=session, officer_id=principal.officer_id),
            "shell": kept_copy,
            "locate": settings.boundaries is not None,
            # Only a new record is kept on the phone; a correction needs the server's copy anyway.
            "offline_owner": offline.owner_tag(settings, principal.user_id) if correcting is None else "",
        },
        status_code=status_code,
        lang=lang,
    )
    # The one page allowed to ask for the phone's position; the browser still asks the officer.
    page.headers["permissions-policy"] = FORM_PERMISSIONS
    if correcting is None:
        # Whose and in which language: the service worker fetches a new shell only when these change.
        page.headers[offline.OWNER_HEADER] = offline.owner_tag(settings, principal.user_id)
        page.headers["content-language"] = lang
    return page


@router.get("/engagements/new", response_class=HTMLResponse)
def new_engagement(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    occurred_at: Annotated[str | None, Query(max_length=16)] = None,
    division: Annotated[str | None, Query(max_length=16)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
) -> HTMLResponse:
    """The recording form, in the order the officer meets the duties.

    A dispatch or camera event nobody recorded opens the form with its time, division and position
    (events/); the officer checks them like any other answer.
    """
    if principal.role != "officer":
        raise Forbidden("only officers record engagements")
    if notice := training_notice(request, principal, session):
        return notice
    values: dict[str, Any] = {"division": division or principal.division_code, "scope": ""}
    if occurred_at:
        values["occurred_at"] = occurred_at
    if lat is not None and lon is not None:
        values |= {"lat": repr(lat), "lon": repr(lon)}
    kept_copy = request.query_params.get("shell") == "1"
    return form_page(request, principal, session, values, [], kept_copy=kept_copy)


def training_notice(
    request: Request, principal: Principal, session: Session, day: date | None = None
) -> HTMLResponse | None:
    """Missing or lapsed training on `day` (today), said before the form starts rather than once filled."""
    settings = settings_of(request)
    today = day or datetime.now(settings.tz).date()
    officer = (
        officers.on_duty(session=session, officer_id=principal.officer_id) if principal.officer_id else None
    )
    try:
        standing = training.standing(officer.training if officer else (), today)
    except policy.NoRuleSetInForce:
        return None  # the form itself says no rule set covers the date
    if standing.in_date:
        return None
    return render_page(
        request,
        "training_notice.html",
        {"standing": standing, "contact": settings.training_contact, "rule": training.RULE},
        status_code=403,
    )


@router.get("/engagements/division-at")
def division_at_point(
    request: Request,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    principal: PagePrincipal,
) -> JSONResponse:
    """The division a phone's position falls in, for the form to suggest (null outside or unknown)."""
    if principal.role != "officer":
        raise Forbidden("only officers record engagements")
    return JSONResponse({"division": division_at(settings_of(request), lat, lon)})


@router.post("/engagements/new", response_model=None)
def submit_engagement(
    request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> Response:
    """Check the answers against the rules; store and show the receipt, or show each problem in place."""
    if principal.role != "officer":
        raise Forbidden("only officers record engagements")
    values: dict[str, Any] = {k: form.get(k) for k in form}
    values["reason_grounds"] = form.getlist("reason_grounds")
    values["description_elements"] = form.getlist("description_elements")
    settings = settings_of(request)
    # The phone's script (static/officer/outbox.js) asks for a short answer: it opens the receipt itself,
    # and shows a refusal by sending the form the ordinary way, so the pages would be carried for nothing.
    short = "application/json" in request.headers.get("accept", "")
    if not offline.sent_by_owner(request, settings, principal.user_id):
        # A record kept on the phone for another officer: it waits until its own officer signs in.
        body = {"title": "Another officer is signed in", "status": 409, "detail": "nothing was stored"}
        return JSONResponse(body, status_code=409, media_type="application/problem+json")
    draft, errors, _, _ = judge_form(request, principal, session, form)
    # The look-ups end here: the save runs in its own transaction.
    session.rollback()
    if short and (draft is None or errors):
        return _refused_briefly(errors)
    if draft is None or errors:
        return form_page(request, principal, session, values, errors, status_code=422)
    try:
        # The form's one-time key makes a double tap or a resubmitted page store one record.
        result = service.record(
            sessions=sessions_of(request),
            draft=draft,
            principal=principal,
            settings=settings,
            idempotency_key=f"form:{str(form.get('form_key') or '')[:80]}" if form.get("form_key") else None,
        )
    except RecordRefused as refused:
        if short:
            return _refused_briefly(refused.errors)
        return form_page(request, principal, session, values, refused.errors, status_code=422)
    receipt = f"/engagements/{result.body['id']}/receipt"
    if short:
        code = result.body["receipt"]["code"]
        return JSONResponse({"id": result.body["id"], "receipt": receipt, "code": code})
    return RedirectResponse(receipt, status_code=303)


def _refused_briefly(errors: list[FieldError]) -> JSONResponse:
    """A refused form for the phone's script: which fields and rules, nothing stored."""
    body = {"title": RecordRefused.title, "status": 422, "errors": [e.as_dict() for e in errors]}
    return JSONResponse(body, status_code=422, media_type="application/problem+json")


@router.post("/engagements/check", response_model=None)
def check_form(
    request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> JSONResponse:
    """The form's dry-run, for the page's live check: every problem and flag, in the page's language.

    The same reading and the same rules as the save; nothing is stored and nothing is audited (no stored
    personal information is read).
    """
    if principal.role != "officer":
        raise Forbidden("only officers record engagements")
    lang = pick_language(request)
    _, errors, flags, ruleset = judge_form(request, principal, session, form)
    session.rollback()
    ruleset = ruleset or policy.ruleset_in_force(datetime.now(settings_of(request).tz).date())
    problems = [{**p, "severity": "refuse"} for p in _placed(errors, ruleset, lang)]
    flagged = [
        {
            "anchor": anchor_for(f.field, f.rule),
            "message": ruleset.rule(f.rule).message(lang, flag=True, variant=_variant_of(ruleset, f))
            if lang != "en"
            else f.message,
            "rule": f.rule,
            "field": f.field,
            "severity": "flag",
        }
        for f in flags
    ]
    return JSONResponse({"would_save": not errors, "ruleset": ruleset.id, "findings": problems + flagged})


def _variant_of(ruleset: policy.RuleSet, error: FieldError) -> str | None:
    rule = ruleset.rule(error.rule)
    return next((name for name, words in rule.variants.items() if words["en"] == error.message), None)


@router.get("/engagements/{engagement_id}/receipt", response_class=HTMLResponse)
def recorded(
    engagement_id: str, request: Request, principal: PagePrincipal, session: DbSession
) -> HTMLResponse:
    """The end of the form: the receipt to offer, and any flags the supervisor will see."""
    engagement = service.get_visible(session=session, principal=principal, engagement_id=engagement_id)
    lang = pick_language(request)
    ruleset = policy.ruleset_for_record(engagement.ruleset_id)
    code = codes.format_code(engagement.receipt_code)
    url = service.receipt_url(settings_of(request), code)
    flags = [
        {
            "rule": f.rule_code,
            "message": ruleset.rule(f.rule_code).message(
                lang,
                flag=True,
                variant=_variant_of(ruleset, FieldError(f.field or "", f.rule_code, f.message)),
            )
            if lang != "en"
            else f.message,
        }
        for f in engagement.findings
        if f.verdict == "fail"
    ]
    return render_page(
        request,
        "engagement_recorded.html",
        {
            "e": engagement,
            "code": code,
            "url": url,
            "qr": render.qr_svg(url, lang=lang),
            "flags": flags,
            "when": render.format_when(engagement.occurred_at.astimezone(settings_of(request).tz), lang),
            # Only the officer who recorded it adds people to an encounter (docs/officer.md).
            "can_add_person": principal.role == "officer" and engagement.officer_id == principal.officer_id,
        },
        lang=lang,
    )


@router.get("/engagements", response_class=HTMLResponse)
def my_records(
    request: Request, principal: PagePrincipal, session: DbSession, offset: Offset = 0
) -> HTMLResponse:
    """The officer's own records, or a supervisor's division's; newest first, no personal information."""
    offset = max(0, offset)
    rows, total = service.search(
        session=session, principal=principal, filters=service.Filters(), limit=50, offset=offset
    )
    tz = settings_of(request).tz
    return render_page(
        request,
        "engagement_list.html",
        {
            "rows": rows,
            "total": total,
            "offset": offset,
            "limit": 50,
            "local": local_clock(tz),
            "code": codes.format_code,
        },
    )


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def values_of(engagement: Any, tz: Any) -> dict[str, Any]:
    """A stored record as the form's answers, so a returned record opens with what was entered."""
    return {
        "scope": "none",
        "purpose": engagement.purpose,
        "division": engagement.division_code,
        "occurred_at": engagement.occurred_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "place": engagement.location_description,
        # The phone's position goes back into the hidden fields, so a correction does not drop it.
        "lat": "" if engagement.lat is None else repr(engagement.lat),
        "lon": "" if engagement.lon is None else repr(engagement.lon),
        "accuracy_m": "" if engagement.location_accuracy_m is None else repr(engagement.location_accuracy_m),
        "reason": engagement.reason,
        "reason_grounds": list(engagement.reason_grounds or []),
        "description_match": engagement.description_match,
        "description_elements": list(engagement.description_elements or []),
        "race_word_not_about_person": engagement.race_word_not_about_person,
        "informed": "yes" if engagement.informed else ("no" if engagement.inform_exception else ""),
        "inform_exception": engagement.inform_exception,
        "inform_exception_details": engagement.inform_exception_details,
        "informed_why": "yes"
        if engagement.informed_why
        else ("no" if engagement.inform_why_exception else ""),
        "inform_why_exception": engagement.inform_why_exception,
        "receipt_offered": "yes"
        if engagement.receipt_offered
        else ("no" if engagement.receipt_exception else ""),
        "receipt_exception": engagement.receipt_exception,
        "receipt_exception_details": engagement.receipt_exception_details,
        "perceived_race": engagement.perceived_race,
        "perceived_gender": engagement.perceived_gender,
        "perceived_age": engagement.perceived_age,
        "identifying_info_collected": _yes_no(engagement.identifying_info_collected),
        "searched": _yes_no(engagement.searched),
        "contraband_found": _yes_no(engagement.contraband_found),
        "outcome": engagement.outcome,
        "bwc_video_id": engagement.bwc_video_id or "",
    }
