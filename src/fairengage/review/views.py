"""Supervisor pages: the review queue, one record and its history, decisions, escalations, samples."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage import policy
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.errors import DomainError, Forbidden, NotFound
from fairengage.officers import training
from fairengage.policy.findings import finding_message
from fairengage.review import service
from fairengage.review.models import ReviewSample, ReviewSampleItem
from fairengage.web.deps import DbSession, FormChoice, FormText, PagePrincipal, settings_of
from fairengage.web.i18n import N_, pick_language, translations
from fairengage.web.params import Offset, RowId
from fairengage.web.templating import local_clock, render

router = APIRouter(include_in_schema=False)


def _today(request: Request):
    return datetime.now(settings_of(request).tz).date()


def _local(request: Request):
    return local_clock(settings_of(request).tz)


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    sort: str = "due",
    overdue: bool = False,
    offset: Offset = 0,
    rule: Annotated[str, Query(max_length=40)] = "",
    finding: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """Records awaiting review: flagged first, each part by due date; filtered by rule and finding."""
    offset = max(0, offset)
    finding = finding if finding in ("flagged", "met") else ""
    items, total = service.queue(
        session=session,
        principal=principal,
        settings=settings_of(request),
        today=_today(request),
        overdue_only=overdue,
        descending=sort == "-due",
        limit=50,
        offset=offset,
        rule=rule or None,
        finding=finding or None,
        flagged_first=True,
    )
    return render(
        request,
        "review_queue.html",
        {
            "items": items,
            "total": total,
            "offset": offset,
            "limit": 50,
            "sort": sort,
            "overdue": overdue,
            "rule": rule,
            "finding": finding,
            "rules": service.failed_rule_codes(session=session, principal=principal),
            "filters": _filters(sort, overdue, rule, finding),
            "local": _local(request),
            "can_decide": scope_of(principal.role, "review:decide") is not None,
            "trained": service.reviewer_trained(session=session, principal=principal, today=_today(request)),
            "expiring": _expiring(session, principal, _today(request)),
            "expiry_window": training.EXPIRY_WINDOW_DAYS,
        },
    )


def _filters(sort: str, overdue: bool, rule: str, finding: str) -> str:
    """The queue's current choices as a query string, for the links that page or re-sort it."""
    chosen = {"sort": sort, "overdue": "true" if overdue else "", "rule": rule, "finding": finding}
    return urlencode({k: v for k, v in chosen.items() if v})


def _expiring(session: Session, principal: Principal, today: date) -> list[training.Expiring] | None:
    """A supervisor's officers whose training lapses soon; None for a reader without a division."""
    if principal.role != "supervisor" or principal.division_code is None:
        return None
    try:
        return training.expiring(session=session, today=today, division=principal.division_code)
    except policy.NoRuleSetInForce:
        return None


@router.get("/review/escalations", response_class=HTMLResponse)
def review_escalations(request: Request, principal: PagePrincipal, session: DbSession) -> HTMLResponse:
    """Overdue reviews, for the division's commander."""
    items = service.escalations(
        session=session, principal=principal, settings=settings_of(request), today=_today(request)
    )
    return render(request, "review_escalations.html", {"items": items, "local": _local(request)})


@router.get("/review/summary", response_class=HTMLResponse)
def review_summary(request: Request, principal: PagePrincipal, session: DbSession) -> HTMLResponse:
    """Per-division compliance and review figures; never per officer."""
    rows = service.division_summary(
        session=session, principal=principal, settings=settings_of(request), today=_today(request)
    )
    return render(request, "review_summary.html", {"rows": rows})


def _samples_page(
    request: Request,
    principal: Principal,
    session: Session,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if (
        scope_of(principal.role, "review:sample-findings") is None
        and scope_of(principal.role, "review:sample") is None
    ):
        raise Forbidden(f"the {principal.role} role may not see detailed-review samples")
    samples = session.scalars(select(ReviewSample).order_by(ReviewSample.id.desc())).all()
    summaries = {s.id: service.sample_summary(session=session, sample_id=s.id) for s in samples}
    return render(
        request,
        "review_samples.html",
        {
            "samples": samples,
            "summaries": summaries,
            "local": _local(request),
            "can_draw": scope_of(principal.role, "review:sample") is not None,
            "can_review": scope_of(principal.role, "review:sample-findings") is not None,
            "errors": errors or {},
            "form": form or {"year": str(_today(request).year - 1), "size": "100", "seed": ""},
        },
        status_code=status_code,
    )


@router.get("/review/samples", response_class=HTMLResponse)
def review_samples(request: Request, principal: PagePrincipal, session: DbSession) -> HTMLResponse:
    """The detailed-review samples drawn so far, with their progress, and the form to draw one."""
    return _samples_page(request, principal, session)


# A seed typed by the auditor, or drawn here when left blank: it is stored, so the draw can be repeated.
SEED_LIMIT = 2**31 - 1
YEAR_NEEDED = N_("Give a year up to this one, such as %(y)s.")
SIZE_NEEDED = N_("Give how many records to draw: a whole number from 1 to 100,000.")
SEED_NEEDED = N_("The seed is a whole number; leave it blank to have one chosen.")


@router.post("/review/samples", response_model=None)
def draw_review_sample(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    year: Annotated[str, Form(max_length=10)] = "",
    size: Annotated[str, Form(max_length=10)] = "",
    seed: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Draw the annual detailed-review sample in the browser, as `fairengage review sample` does."""
    if scope_of(principal.role, "review:sample") is None:
        raise Forbidden(f"the {principal.role} role may not draw detailed-review samples")
    words = translations(pick_language(request)).gettext
    errors: dict[str, str] = {}
    this_year = _today(request).year
    year_n = int(year) if year.strip().isdigit() else 0
    if not 1900 <= year_n <= this_year:
        errors["year"] = words(YEAR_NEEDED) % {"y": this_year - 1}
    size_n = int(size) if size.strip().isdigit() else 0
    if not 1 <= size_n <= 100_000:
        errors["size"] = words(SIZE_NEEDED)
    if seed.strip() and not (seed.strip().isdigit() and int(seed) <= SEED_LIMIT):
        errors["seed"] = words(SEED_NEEDED)
    if errors:
        form = {"year": year, "size": size, "seed": seed}
        return _samples_page(request, principal, session, errors, form, status_code=422)
    seed_n = int(seed) if seed.strip() else secrets.randbelow(SEED_LIMIT)
    sample, _ = service.draw_sample(
        session=session, year=year_n, size=size_n, seed=seed_n, actor=principal.username,
        tz=settings_of(request).timezone,
    )  # fmt: skip
    return RedirectResponse(f"/review/samples?drawn={sample.id}", status_code=303)


@router.get("/review/samples/{sample_id}", response_class=HTMLResponse)
def review_sample(
    sample_id: RowId, request: Request, principal: PagePrincipal, session: DbSession
) -> HTMLResponse:
    """One sample's records and the findings recorded on them."""
    if scope_of(principal.role, "review:sample-findings") is None:
        raise Forbidden(f"the {principal.role} role may not record detailed-review findings")
    sample = session.get(ReviewSample, sample_id)
    if sample is None:
        raise NotFound("no such sample")
    items = session.scalars(
        select(ReviewSampleItem)
        .where(ReviewSampleItem.sample_id == sample_id)
        .order_by(ReviewSampleItem.position)
    ).all()
    return render(
        request,
        "review_sample.html",
        {
            "sample": sample,
            "items": items,
            "summary": service.sample_summary(session=session, sample_id=sample_id),
        },
    )


@router.post("/review/samples/{sample_id}/items/{item_id}", response_model=None)
def review_sample_finding(
    sample_id: RowId,
    item_id: RowId,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    finding: FormChoice = "",
    notes: FormText = "",
) -> Response:
    """Record the finding on one sampled record."""
    item = session.get(ReviewSampleItem, item_id)
    if item is None or item.sample_id != sample_id:
        raise NotFound("no such sample item")
    service.record_sample_finding(
        session=session, principal=principal, item_id=item_id, finding=finding, notes=notes
    )
    return RedirectResponse(f"/review/samples/{sample_id}#item-{item_id}", status_code=303)


def _record_page(
    request: Request,
    principal: Principal,
    session: Session,
    engagement_id: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        engagement = service.get_for_review(session=session, principal=principal, engagement_id=engagement_id)
    except NotFound:
        # Found non-compliant, so restricted: what was decided is still shown, never what was recorded.
        return _decided_page(request, principal, session, engagement_id, refused=bool(errors))
    versions, decisions = service.history(session=session, engagement_id=engagement.id)
    ruleset = policy.ruleset_for_record(engagement.ruleset_id)
    lang = pick_language(request)

    def words(rule: str, verdict: str, ground: str | None, message: str) -> str:
        # Stored messages are English; other languages take the rule set's own words for the finding.
        if lang == "en":
            return message
        try:
            return finding_message(ruleset, rule, verdict, refuses=False, ground=ground, lang=lang)
        except policy.PolicyError:
            return message

    return render(
        request,
        "review_record.html",
        {
            "e": engagement,
            "versions": versions,
            "decisions": decisions,
            "ruleset": ruleset,
            "version": service.current_version(session=session, engagement_id=engagement.id),
            "due": service.due_date_of(session=session, engagement=engagement, settings=settings_of(request)),
            "today": _today(request),
            "local": _local(request),
            "errors": errors or {},
            "can_decide": scope_of(principal.role, "review:decide") is not None,
            "words": words,
        },
        status_code=status_code,
        lang=lang,
    )


def _decided_page(
    request: Request, principal: Principal, session: Session, engagement_id: str, refused: bool
) -> HTMLResponse:
    """A decided record whose facts the reviewer may no longer read: each decision, by whom, when, why."""
    engagement, decisions = service.decided(session=session, principal=principal, engagement_id=engagement_id)
    return render(
        request,
        "review_decided.html",
        {"e": engagement, "decisions": decisions, "local": _local(request), "refused": refused},
        status_code=409 if refused else 200,
    )


@router.get("/review/{engagement_id}", response_class=HTMLResponse)
def review_record(
    engagement_id: str, request: Request, principal: PagePrincipal, session: DbSession
) -> HTMLResponse:
    """One record: its facts, findings and flags, earlier versions and every decision."""
    return _record_page(request, principal, session, engagement_id)


@router.post("/review/{engagement_id}/decision", response_model=None)
def review_decision(
    engagement_id: str,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    decision: FormChoice = "",
    reason: FormText = "",
) -> Response:
    """Approve, return for correction, or find non-compliant."""
    try:
        service.decide(
            session=session,
            principal=principal,
            engagement_id=engagement_id,
            decision=decision,
            reason=reason,
            today=_today(request),
        )
    except Forbidden:
        raise
    except NotFound:
        # Already found non-compliant (by this reviewer in another tab, or by another): say what was decided.
        session.rollback()
        return _decided_page(request, principal, session, engagement_id, refused=True)
    except DomainError as exc:
        session.rollback()
        words = translations(pick_language(request)).gettext
        errors = {e.field: words(e.message) for e in exc.errors} or {"decision": str(exc)}
        return _record_page(request, principal, session, engagement_id, errors, status_code=422)
    return RedirectResponse(f"/review?done={decision}", status_code=303)
