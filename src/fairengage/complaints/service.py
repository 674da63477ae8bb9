"""Complaints and own-record requests: filing from a receipt, tracking to closure, contact reads, exports.

The receipt tells the person how to complain to the independent body and how to ask for their own
information (O. Reg. 58/16 s.7; docs/rule-sets.md RECEIPT-CONTENT). This service adds the police service's own
door: a complaint or request filed against the receipt's code, tracked by staff of the engagement's
division, with the requester's contact details kept apart and every read of them audited.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit
from fairengage.access.models import User
from fairengage.access.permissions import ROLES, scope_of
from fairengage.access.principal import Principal
from fairengage.complaints.models import Complaint, ComplaintContact, ComplaintEvent
from fairengage.complaints.schemas import KINDS, IntakeIn
from fairengage.config import Settings
from fairengage.engagements import service as engagements
from fairengage.engagements.models import Engagement, Person
from fairengage.errors import Conflict, DomainError, FieldError, Forbidden, NotFound
from fairengage.receipts import codes
from fairengage.receipts import service as receipts
from fairengage.spreadsheet import safe_cell
from fairengage.web.i18n import N_

STATUSES: tuple[str, ...] = ("received", "acknowledged", "investigating", "closed")
OPEN_STATUSES: tuple[str, ...] = STATUSES[:-1]
PREFIXES = {"complaint": "C", "own_record": "R"}
PUBLIC_ACTOR = "public"

# Why a staff member may read the requester's contact details; the chosen one is written to the
# audit log with the read, so each read can be checked against a need.
CONTACT_PURPOSES: dict[str, str] = {
    "acknowledge": N_("To acknowledge the request and give its reference"),
    "investigate": N_("To ask the complainant about what happened, for the investigation"),
    "confirm_identity": N_("To confirm the requester's identity before an own-record export"),
    "outcome": N_("To tell the requester the outcome"),
}

MATCHING_RULE = N_(
    "The engagement on the receipt, and every other engagement whose person has the same name and the "
    "same date of birth: an exact match after removing spaces at either end and ignoring letter case. "
    "Records with a different spelling of the name are not included."
)


class UpdateRefused(DomainError):
    """A staff change that cannot be made as asked; the errors say which field to fix."""

    status = 422
    title = "The change was not saved"
    slug = "complaint-update-refused"


class IdentityNotConfirmed(Conflict):
    """An own-record export asked for before anyone recorded that the requester's identity was confirmed."""

    title = "Identity not confirmed"
    slug = "identity-not-confirmed"


@dataclass(frozen=True)
class Filed:
    """What the public page shows after filing: the reference and the kind; `replayed` on a repeat."""

    reference: str
    kind: str
    replayed: bool = False


@dataclass(frozen=True)
class OwnRecordExport:
    """An own-record export: the request, the matching rule and the records found, ready to serialise."""

    reference: str
    generated_at: datetime
    matching: str
    records: list[dict[str, Any]] = field(default_factory=list)


# --- the public door -------------------------------------------------------------------------------


def engagement_for_code(*, session: Session, settings: Settings, text: str) -> Engagement | None:
    """The engagement a typed receipt code belongs to, when its signature is good; else None."""
    # One door for every receipt route: the same look-up, whatever was typed (receipts/service.py).
    return receipts.engagement_for_code(session=session, settings=settings, text=text)


def reference_for(kind: str, number: int, year: int) -> str:
    """The reference a requester quotes: C- for a complaint, R- for an own-record request."""
    return f"{PREFIXES[kind]}-{year}-{number:06d}"


def _replay(session: Session, form_key: str, engagement: Engagement) -> Filed | None:
    existing = session.scalars(select(Complaint).where(Complaint.form_key == form_key)).first()
    if existing is None:
        return None
    if existing.engagement_id != engagement.id:
        raise Conflict(N_("This form was already used for another receipt. Open the form again."))
    return Filed(existing.reference, existing.kind, replayed=True)


def filed_with(*, session: Session, settings: Settings, code_text: str, form_key: str | None) -> Filed | None:
    """What this form already filed for this code, if anything: a form sent again answers with it."""
    key = (form_key or "").strip()[:64]
    engagement = engagement_for_code(session=session, settings=settings, text=code_text) if key else None
    if engagement is None:
        return None
    try:
        return _replay(session, key, engagement)
    except Conflict:
        return None


def file_request(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    code_text: str,
    intake: IntakeIn,
    form_key: str | None,
    now: datetime | None = None,
) -> Filed | None:
    """File a complaint or own-record request from a receipt code, once per form key; None if no record."""
    # A form without its key still files, just without protection against a second tap.
    key = (form_key or "").strip()[:64] or f"none:{uuid.uuid4().hex}"
    now = now or datetime.now(UTC)
    try:
        with sessions.begin() as session:
            engagement = engagement_for_code(session=session, settings=settings, text=code_text)
            if engagement is None:
                return None
            if replay := _replay(session, key, engagement):
                return replay
            return _store(session, settings, engagement, intake, key, now)
    except IntegrityError:
        # A concurrent submit of the same form committed first: answer with its reference.
        with sessions.begin() as session:
            engagement = engagement_for_code(session=session, settings=settings, text=code_text)
            replay = _replay(session, key, engagement) if engagement else None
        if replay is None:
            raise
        return replay


def _store(
    session: Session, settings: Settings, engagement: Engagement, intake: IntakeIn, key: str, now: datetime
) -> Filed:
    complaint = Complaint(
        # A unique placeholder until the row's number is known; replaced before the transaction ends.
        reference=f"new-{uuid.uuid4().hex[:16]}",
        kind=intake.kind,
        engagement_id=engagement.id,
        division_code=engagement.division_code,
        status="received",
        description=intake.description,
        received_at=now,
        form_key=key,
    )
    complaint.contact = ComplaintContact(
        name=intake.name, email=intake.email, phone=intake.phone, consented_at=now
    )
    session.add(complaint)
    session.flush()
    complaint.reference = reference_for(intake.kind, complaint.id, now.astimezone(settings.tz).year)
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id, at=now, actor=PUBLIC_ACTOR, action="received", to_status="received"
        )
    )
    session.flush()
    audit.append(
        session,
        actor=PUBLIC_ACTOR,
        action="complaint.create",
        entity="complaint",
        entity_id=complaint.reference,
        purpose="a complaint or own-record request filed from a receipt",
        # Never the contact details or the account: the audit log is read by auditors, not case staff.
        details={"kind": complaint.kind, "division": complaint.division_code, "engagement": engagement.id},
        at=now,
    )
    return Filed(complaint.reference, complaint.kind)


# --- staff: who sees what ------------------------------------------------------------------------------


def _scope(principal: Principal, permission: str) -> str:
    scope = scope_of(principal.role, permission)
    if scope is None:
        raise Forbidden(N_("Your role may not do this."))
    return scope


def _in_scope(principal: Principal, scope: str, complaint: Complaint) -> bool:
    return scope == "all" or (scope == "division" and complaint.division_code == principal.division_code)


def may(principal: Principal, permission: str, complaint: Complaint | None = None) -> bool:
    """Whether the caller holds a permission, and over this complaint when one is given."""
    scope = scope_of(principal.role, permission)
    if scope is None:
        return False
    return complaint is None or _in_scope(principal, scope, complaint)


def list_requests(
    *, session: Session, principal: Principal, status: str | None = None, kind: str | None = None
) -> list[Complaint]:
    """The complaints and requests the caller tracks, oldest open first, then closed ones newest first."""
    scope = _scope(principal, "complaints:manage")
    conditions = []
    if scope == "division":
        conditions.append(Complaint.division_code == principal.division_code)
    if status in STATUSES:
        conditions.append(Complaint.status == status)
    elif status == "open":
        conditions.append(Complaint.status.in_(OPEN_STATUSES))
    if kind in KINDS:
        conditions.append(Complaint.kind == kind)
    closed_last = case((Complaint.status == "closed", 1), else_=0)
    # Open rows all have NULL here, so the database's NULL ordering never mixes the two groups.
    recently_closed = case((Complaint.status == "closed", Complaint.closed_at), else_=None).desc()
    rows = session.scalars(
        select(Complaint)
        .where(*conditions)
        .order_by(closed_last, recently_closed, Complaint.received_at, Complaint.id)
    ).all()
    return list(rows)


def get(*, session: Session, complaint_id: int) -> Complaint | None:
    """A complaint by its id, with no permission check (for services that have made their own)."""
    return session.get(Complaint, complaint_id)


def get_visible(
    *, session: Session, principal: Principal, complaint_id: int, permission: str = "complaints:manage"
) -> Complaint:
    """A complaint the caller may act on; Forbidden without the permission, NotFound outside its scope."""
    scope = _scope(principal, permission)
    complaint = session.get(Complaint, complaint_id)
    # Another division's complaint is indistinguishable from none.
    if complaint is None or not _in_scope(principal, scope, complaint):
        raise NotFound(N_("There is no such complaint or request."))
    return complaint


def assignable(*, session: Session, complaint: Complaint) -> list[User]:
    """The active users who could take the complaint: those whose role manages its division."""
    users = session.scalars(
        select(User).where(User.active.is_(True), User.role.in_(ROLES)).order_by(User.username)
    ).all()
    return [
        user
        for user in users
        if (scope := scope_of(user.role, "complaints:manage")) == "all"
        or (scope == "division" and user.division_code == complaint.division_code)
    ]


def receipt_code(*, session: Session, complaint: Complaint) -> str:
    """The receipt code of the complaint's engagement, as printed (staff see it; the public typed it)."""
    engagement = session.get(Engagement, complaint.engagement_id)
    return codes.format_code(engagement.receipt_code) if engagement else ""


def username_of(session: Session, user_id: int | None) -> str | None:
    """The username of a user id, for display."""
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.username if user else None


def _event(session: Session, complaint: Complaint, principal: Principal, action: str, **values: Any) -> None:
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id, at=datetime.now(UTC), actor=principal.username, action=action, **values
        )
    )


def update(
    *,
    session: Session,
    principal: Principal,
    complaint_id: int,
    status: str | None,
    assignee: str | None,
    note: str | None,
) -> Complaint:
    """Move a complaint forward, assign it or add a note; closing needs the outcome as the note. Audited.

    `assignee` is a username, "" to unassign, or None to leave the assignment as it is.
    """
    complaint = get_visible(session=session, principal=principal, complaint_id=complaint_id)
    if complaint.status == "closed":
        raise Conflict(N_("This request is closed; it can no longer change."))
    note = (note or "").strip() or None
    errors: list[FieldError] = []
    new_status = status or complaint.status
    if new_status not in STATUSES:
        errors.append(FieldError("status", "COMPLAINT-STATUS", N_("Choose a status from the list.")))
    elif STATUSES.index(new_status) < STATUSES.index(complaint.status):
        errors.append(FieldError("status", "COMPLAINT-STATUS", N_("A request only moves forward.")))
    if new_status == "closed" and note is None:
        errors.append(FieldError("note", "COMPLAINT-OUTCOME", N_("Give the outcome in the note to close.")))
    new_assignee_id = complaint.assigned_to
    if assignee is not None:
        if assignee == "":
            new_assignee_id = None
        else:
            match = next(
                (u for u in assignable(session=session, complaint=complaint) if u.username == assignee), None
            )
            if match is None:
                errors.append(
                    FieldError(
                        "assignee", "COMPLAINT-ASSIGN", N_("Choose someone who manages this division.")
                    )
                )
            else:
                new_assignee_id = match.id
    changed_status = new_status != complaint.status
    changed_assignee = new_assignee_id != complaint.assigned_to
    if not errors and not (changed_status or changed_assignee or note):
        errors.append(
            FieldError(
                "status", "COMPLAINT-STATUS", N_("Nothing to change: choose a change or write a note.")
            )
        )
    if errors:
        raise UpdateRefused(N_("The change was not saved."), errors)
    now = datetime.now(UTC)
    old_status = complaint.status
    if changed_status:
        complaint.status = new_status
        _event(
            session, complaint, principal, "status", from_status=old_status, to_status=new_status, note=note
        )
        if new_status == "closed":
            complaint.outcome = note
            complaint.closed_at = now
    if changed_assignee:
        complaint.assigned_to = new_assignee_id
        _event(
            session,
            complaint,
            principal,
            "assigned",
            note=username_of(session, new_assignee_id) or "",
        )
    if note and not changed_status:
        _event(session, complaint, principal, "note", note=note)
    session.flush()
    audit.append(
        session,
        actor=principal.username,
        action="complaint.update",
        entity="complaint",
        entity_id=complaint.reference,
        purpose="tracking a complaint or own-record request to closure",
        # The note may quote the requester; it stays in the complaint's history, not the audit log.
        details={
            "from": old_status,
            "to": complaint.status,
            "assigned_to": username_of(session, complaint.assigned_to),
            "note": note is not None,
        },
        at=now,
    )
    return complaint


def read_contact(
    *, session: Session, principal: Principal, complaint_id: int, purpose: str
) -> ComplaintContact | None:
    """The requester's contact details for a stated purpose from CONTACT_PURPOSES, each read audited."""
    complaint = get_visible(
        session=session, principal=principal, complaint_id=complaint_id, permission="complaints:read-contact"
    )
    if purpose not in CONTACT_PURPOSES:
        raise UpdateRefused(
            N_("Choose why you need the contact details."),
            [FieldError("purpose", "COMPLAINT-PURPOSE", N_("Choose why you need the contact details."))],
        )
    audit.append(
        session,
        actor=principal.username,
        action="complaint_contact.read",
        entity="complaint",
        entity_id=complaint.reference,
        purpose=CONTACT_PURPOSES[purpose],
        details={"role": principal.role, "purpose": purpose},
    )
    _event(session, complaint, principal, "contact_read", note=purpose)
    session.flush()
    return complaint.contact


# --- own-record requests --------------------------------------------------------------------------------


def confirm_identity(*, session: Session, principal: Principal, complaint_id: int, note: str) -> Complaint:
    """Record that the requester's identity was confirmed, and how; an export needs this first. Audited."""
    complaint = get_visible(session=session, principal=principal, complaint_id=complaint_id)
    if complaint.kind != "own_record":
        raise Conflict(N_("Only an own-record request needs an identity check."))
    if complaint.identity_confirmed_at is not None:
        raise Conflict(N_("The requester's identity was already confirmed."))
    note = (note or "").strip()
    if not note:
        raise UpdateRefused(
            N_("Say how the identity was confirmed."),
            [FieldError("identity_note", "OWN-RECORD-IDENTITY", N_("Say how the identity was confirmed."))],
        )
    now = datetime.now(UTC)
    complaint.identity_confirmed_at = now
    complaint.identity_confirmed_by = principal.user_id
    complaint.identity_note = note
    _event(session, complaint, principal, "identity_confirmed", note=note)
    session.flush()
    audit.append(
        session,
        actor=principal.username,
        action="own_record.identity_confirmed",
        entity="complaint",
        entity_id=complaint.reference,
        purpose="confirming a requester's identity before an own-record export",
        details={"role": principal.role},
        at=now,
    )
    return complaint


def _same_name(left: str | None, right: str | None) -> bool:
    # Trimming and case folding only: anything looser (accents, initials, nicknames) could hand one
    # person's record to another, which is worse than a record left out.
    if not left or not right:
        return False
    return left.strip().casefold() == right.strip().casefold()


def matching_engagements(*, session: Session, engagement: Engagement) -> list[tuple[Engagement, str]]:
    """The receipt's engagement and every other whose person has the same name and date of birth."""
    found: list[tuple[Engagement, str]] = [(engagement, "receipt")]
    person = engagement.person
    if person is None or not person.name or person.date_of_birth is None:
        return found
    candidates = session.scalars(
        select(Person).where(
            Person.date_of_birth == person.date_of_birth, Person.engagement_id != engagement.id
        )
    ).all()
    others = [p.engagement for p in candidates if _same_name(p.name, person.name)]
    others.sort(key=lambda e: (e.occurred_at, e.id))
    return found + [(other, "name_and_date_of_birth") for other in others]


def _record(engagement: Engagement, matched_by: str) -> dict[str, Any]:
    person = engagement.person
    return {
        "engagement_id": engagement.id,
        "matched_by": matched_by,
        "receipt_code": codes.format_code(engagement.receipt_code),
        "occurred_at": engagement.occurred_at.astimezone(UTC).isoformat(),
        "division": engagement.division_code,
        "location": {
            "description": engagement.location_description,
            "lat": engagement.lat,
            "lon": engagement.lon,
        },
        "officer": {"name": engagement.officer.name, "badge": engagement.officer.badge},
        "purpose": engagement.purpose,
        "reason": engagement.reason,
        "reason_grounds": list(engagement.reason_grounds or []),
        "description_match": engagement.description_match,
        "description_elements": list(engagement.description_elements or []),
        "perceived_race": engagement.perceived_race,
        "perceived_gender": engagement.perceived_gender,
        "perceived_age": engagement.perceived_age,
        "informed": engagement.informed,
        "inform_exception": engagement.inform_exception,
        "inform_exception_details": engagement.inform_exception_details,
        "informed_why": engagement.informed_why,
        "inform_why_exception": engagement.inform_why_exception,
        "receipt_offered": engagement.receipt_offered,
        "receipt_exception": engagement.receipt_exception,
        "receipt_exception_details": engagement.receipt_exception_details,
        "identifying_info_collected": engagement.identifying_info_collected,
        "searched": engagement.searched,
        "contraband_found": engagement.contraband_found,
        "outcome": engagement.outcome,
        "compliant": engagement.compliant,
        "status": engagement.status,
        "restricted": engagement.restricted,
        "ruleset": f"{engagement.ruleset_id}@{engagement.ruleset_version}",
        "findings": engagements.findings_json(engagement),
        "person": {
            "name": person.name if person else None,
            "date_of_birth": person.date_of_birth.isoformat() if person and person.date_of_birth else None,
            "address": person.address if person else None,
        },
    }


def export_own_record(
    *, session: Session, principal: Principal, complaint_id: int, fmt: str
) -> OwnRecordExport:
    """The requester's records, once their identity is confirmed; every export audited with the reference."""
    complaint = get_visible(
        session=session, principal=principal, complaint_id=complaint_id, permission="own-records:export"
    )
    if complaint.kind != "own_record":
        raise Conflict(N_("Only an own-record request can be exported."))
    if complaint.identity_confirmed_at is None:
        raise IdentityNotConfirmed(
            N_("The requester's identity has not been confirmed yet: record how it was confirmed first.")
        )
    engagement = session.get(Engagement, complaint.engagement_id)
    if engagement is None:  # the foreign key makes this a broken database, not a user error
        raise NotFound(N_("The engagement on this receipt is no longer held."))
    found = matching_engagements(session=session, engagement=engagement)
    now = datetime.now(UTC)
    audit.append(
        session,
        actor=principal.username,
        action="own_record.export",
        entity="complaint",
        entity_id=complaint.reference,
        purpose=f"own-record request {complaint.reference}",
        details={
            "reference": complaint.reference,
            "format": fmt,
            "engagements": [e.id for e, _ in found],
        },
        at=now,
    )
    _event(session, complaint, principal, "exported", note=f"{fmt}: {len(found)}")
    session.flush()
    return OwnRecordExport(
        reference=complaint.reference,
        generated_at=now,
        matching=MATCHING_RULE,
        records=[_record(e, matched_by) for e, matched_by in found],
    )


def export_json(export: OwnRecordExport) -> bytes:
    """The export as a JSON document."""
    body = {
        "request": export.reference,
        "generated_at": export.generated_at.isoformat(),
        "matching": export.matching,
        "records": export.records,
    }
    return json.dumps(body, ensure_ascii=False, indent=2).encode()


CSV_COLUMNS = (
    "engagement_id",
    "matched_by",
    "receipt_code",
    "occurred_at",
    "division",
    "location_description",
    "lat",
    "lon",
    "officer_name",
    "officer_badge",
    "purpose",
    "reason",
    "reason_grounds",
    "description_match",
    "description_elements",
    "perceived_race",
    "perceived_gender",
    "perceived_age",
    "informed",
    "inform_exception",
    "inform_exception_details",
    "informed_why",
    "inform_why_exception",
    "receipt_offered",
    "receipt_exception",
    "receipt_exception_details",
    "identifying_info_collected",
    "searched",
    "contraband_found",
    "outcome",
    "compliant",
    "status",
    "restricted",
    "ruleset",
    "findings",
    "person_name",
    "person_date_of_birth",
    "person_address",
)


def export_csv(export: OwnRecordExport) -> bytes:
    """The export as CSV, one row per engagement; findings as `RULE:verdict` joined by semicolons."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for record in export.records:
        row = {
            **{k: v for k, v in record.items() if not isinstance(v, dict | list)},
            "location_description": record["location"]["description"],
            "lat": record["location"]["lat"],
            "lon": record["location"]["lon"],
            "officer_name": record["officer"]["name"],
            "officer_badge": record["officer"]["badge"],
            "reason_grounds": ";".join(record["reason_grounds"]),
            "description_elements": ";".join(record["description_elements"]),
            "findings": ";".join(f"{f['rule']}:{f['verdict']}" for f in record["findings"]),
            "person_name": record["person"]["name"],
            "person_date_of_birth": record["person"]["date_of_birth"],
            "person_address": record["person"]["address"],
        }
        writer.writerow([safe_cell(row.get(column)) for column in CSV_COLUMNS])
    # A byte-order mark so spreadsheet programs read the accents in names and places correctly.
    return ("\ufeff" + out.getvalue()).encode()
