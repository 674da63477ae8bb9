"""`/desk`: the home page of each signed-in role (an officer goes straight to the form)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from fairengage import policy
from fairengage.access.admin_views import training_standings
from fairengage.access.models import User
from fairengage.access.permissions import allowed
from fairengage.access.principal import Principal
from fairengage.cases import service as cases
from fairengage.engagements.models import Engagement
from fairengage.events import service as events
from fairengage.officers import service as officers
from fairengage.publishing import service as publishing
from fairengage.publishing.views import RELEASE_STATES, STATES, jobs_of
from fairengage.review import service as review
from fairengage.review.models import ReviewSample
from fairengage.web.deps import DbSession, PagePrincipal, settings_of
from fairengage.web.i18n import pick_language, translations
from fairengage.web.templating import local_clock, render

router = APIRouter(include_in_schema=False)

DESK = "/desk"
# An officer's work is the form; every other role has a desk of its own.
OFFICER_HOME = "/engagements/new"


@router.get(DESK, response_model=None)
def desk(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    """The signed-in user's desk: what waits for their role, each item a link to where it is done."""
    if principal.role == "officer":
        return RedirectResponse(OFFICER_HOME, status_code=303)
    today = datetime.now(settings_of(request).tz).date()
    lang = pick_language(request)
    words = translations(lang).gettext
    context: dict[str, Any] = {"local": local_clock(settings_of(request).tz), "today": today}
    if allowed(principal.role, "review:decide"):
        context["review"] = _review_desk(session, principal, request, today)
    if allowed(principal.role, "cases:read"):
        context["open_cases"] = cases.open_count(session=session, principal=principal)
    if allowed(principal.role, "reports:run") and principal.role == "analyst":
        context["releases"] = publishing.list_releases(session=session)[:10]
        context["jobs"] = jobs_of(request).recent()[:5]
        context["release_state"] = lambda s: words(RELEASE_STATES.get(s) or s)
        context["state_label"] = lambda s: words(STATES.get(s) or s)
    if allowed(principal.role, "audit:verify") and principal.role == "auditor":
        context["samples"] = _samples(session)
    if allowed(principal.role, "officers:manage"):
        context["admin"] = _admin_desk(session, today)
    return render(request, f"desk_{principal.role}.html", context, lang=lang)


def _review_desk(session: Session, principal: Principal, request: Request, today) -> dict[str, Any]:
    settings = settings_of(request)
    first, waiting = review.queue(
        session=session, principal=principal, settings=settings, today=today, limit=5, flagged_first=True
    )
    _, flagged = review.queue(
        session=session, principal=principal, settings=settings, today=today, limit=0, finding="flagged"
    )
    _, overdue = review.queue(
        session=session, principal=principal, settings=settings, today=today, limit=0, overdue_only=True
    )
    # Dispatch and body-camera events no record matched (None for a role without the worklist).
    unmatched = events.unmatched_count_for(session, principal)
    return {
        "first": first, "waiting": waiting, "flagged": flagged, "overdue": overdue, "unmatched": unmatched
    }


def _samples(session: Session) -> list[tuple[ReviewSample, Any]]:
    samples = session.scalars(select(ReviewSample).order_by(ReviewSample.id.desc()).limit(5)).all()
    return [(s, review.sample_summary(session=session, sample_id=s.id)) for s in samples]


def _admin_desk(session: Session, today) -> dict[str, Any]:
    try:
        ruleset: policy.RuleSet | None = policy.ruleset_in_force(today)
    except policy.NoRuleSetInForce:
        ruleset = None
    roster = officers.list_officers(session=session)
    months = int(ruleset.param("training_months")) if ruleset else None
    lapsing = (
        sum(1 for s in training_standings(roster, today=today, months=months) if s.warn)
        if months is not None
        else None
    )
    return {
        "users": session.scalar(select(func.count()).select_from(User).where(User.active.is_(True))) or 0,
        "officers": len(roster),
        "lapsing": lapsing,
        "ruleset": ruleset,
        "restriction_years": ruleset.param("restriction_years") if ruleset else None,
        "restricted": session.scalar(
            select(func.count()).select_from(Engagement).where(Engagement.restricted.is_(True))
        )
        or 0,
        "held": session.scalar(
            select(func.count()).select_from(Engagement).where(Engagement.legal_hold.is_(True))
        )
        or 0,
    }
