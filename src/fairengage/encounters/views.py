"""The officer's page for each further person of an encounter: the shared answers shown, not asked again."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage import policy
from fairengage.access.principal import Principal
from fairengage.encounters import service
from fairengage.engagements.form import anchor_for, draft_from_form
from fairengage.engagements.models import Engagement
from fairengage.engagements.schemas import PERSONAL_FIELDS
from fairengage.engagements.views import form_choices, message_for, values_of
from fairengage.errors import FieldError, RecordRefused
from fairengage.web.deps import (
    DbSession,
    PagePrincipal,
    PostedForm,
    sessions_of,
    settings_of,
)
from fairengage.web.i18n import pick_language
from fairengage.web.templating import render as render_page

router = APIRouter(include_in_schema=False)

# The answers asked on this page (each person's answers, the person's identity as the form's three
# fields); everything else comes from the encounter's record.
PERSON_INPUTS: tuple[str, ...] = tuple(
    name
    for field in PERSONAL_FIELDS
    for name in (("person_name", "person_date_of_birth", "person_address") if field == "person" else (field,))
)


def _page(
    request: Request,
    anchor: Engagement,
    people: int,
    values: dict[str, Any],
    errors: list[FieldError],
    status_code: int = 200,
) -> HTMLResponse:
    settings = settings_of(request)
    lang = pick_language(request)
    ruleset = policy.ruleset_for_record(anchor.ruleset_id)
    choices = form_choices(ruleset, lang)
    by_anchor: dict[str, list[str]] = {}
    summary = []
    for error in errors:
        place = anchor_for(error.field, error.rule)
        text = message_for(error, ruleset, lang)
        if text in by_anchor.get(place, []):
            continue
        by_anchor.setdefault(place, []).append(text)
        summary.append({"anchor": place, "message": text})
    labels = dict(choices["purposes"])
    grounds = dict(choices["reason_grounds"])
    return render_page(
        request,
        "encounter_person.html",
        {
            "anchor": anchor,
            "person_number": people + 1,
            "shared": {
                "when": anchor.occurred_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"),
                "division": anchor.division_code,
                "place": anchor.location_description or "",
                "purpose": labels.get(anchor.purpose, anchor.purpose),
                "reason": anchor.reason,
                "grounds": [grounds.get(g, g) for g in anchor.reason_grounds or []],
            },
            "choices": choices,
            "v": values,
            "errors": by_anchor,
            "summary": summary,
            "form_key": values.get("form_key") or str(uuid.uuid4()),
        },
        status_code=status_code,
        lang=lang,
    )


def _people(session: Session, principal: Principal, anchor: Engagement) -> int:
    if anchor.encounter_id is None:
        return 1
    return len(service.members(session=session, principal=principal, encounter_id=anchor.encounter_id))


@router.get("/engagements/{engagement_id}/another-person", response_class=HTMLResponse)
def another_person(
    engagement_id: str, request: Request, principal: PagePrincipal, session: DbSession
) -> HTMLResponse:
    """The short page for one more person of the same encounter."""
    anchor = service.anchor_of(session=session, principal=principal, engagement_id=engagement_id)
    values = {"searched": "no", "outcome": "none"}
    return _page(request, anchor, _people(session, principal, anchor), values, [])


def _merged_form(form: FormData, anchor: Engagement, tz: Any) -> dict[str, Any]:
    """The posted answers for this person, with the encounter's shared answers as the main form's."""
    shared = values_of(anchor, tz)
    merged: dict[str, Any] = {k: v for k, v in shared.items() if k not in PERSON_INPUTS}
    merged["description_match"] = "yes" if shared["description_match"] else ""
    merged["race_word_not_about_person"] = "yes" if shared["race_word_not_about_person"] else ""
    for name in PERSON_INPUTS:
        value = form.get(name)
        merged[name] = value if isinstance(value, str) else None
    return merged


class _Form(dict):
    """A plain mapping read like a posted form (lists answered by `getlist`)."""

    def getlist(self, name: str) -> list[Any]:
        value = self.get(name)
        return list(value) if isinstance(value, list) else ([] if value is None else [value])


@router.post("/engagements/{engagement_id}/another-person", response_model=None)
def submit_another_person(
    engagement_id: str, request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> Response:
    """Save this person as their own record of the encounter, then show their receipt."""
    anchor = service.anchor_of(session=session, principal=principal, engagement_id=engagement_id)
    people = _people(session, principal, anchor)
    values: dict[str, Any] = {k: form.get(k) for k in form if k in (*PERSON_INPUTS, "form_key")}
    settings = settings_of(request)
    draft, errors = draft_from_form(_Form(_merged_form(form, anchor, settings.tz)), settings.tz)
    if draft is None:
        return _page(request, anchor, people, values, errors, status_code=422)
    person = {name: getattr(draft, name) for name in PERSONAL_FIELDS}
    form_key = str(form.get("form_key") or "")[:80]
    # Released before the write's own transaction: the page's reads are done.
    session.close()
    try:
        result = service.add_person(
            sessions=sessions_of(request),
            principal=principal,
            anchor_id=anchor.id,
            person=person,
            settings=settings,
            idempotency_key=f"person:{form_key}" if form_key else None,
        )
    except RecordRefused as refused:
        return _page(request, anchor, people, values, refused.errors, status_code=422)
    return RedirectResponse(f"/engagements/{result.body['id']}/receipt", status_code=303)
