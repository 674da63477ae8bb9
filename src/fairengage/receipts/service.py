"""Looking up a receipt by its code and assembling what the receipt shows (never the person)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fairengage import policy
from fairengage.config import Settings
from fairengage.engagements import service as engagements
from fairengage.receipts import codes
from fairengage.receipts.render import ReceiptView


def receipt_for(*, session: Session, text: str, settings: Settings, lang: str) -> ReceiptView | None:
    """The receipt for a typed code when its signature is good and the record exists; else None.

    A forged or mistyped code fails the signature before any lookup, so guessing codes cannot be
    used to probe the database.
    """
    canonical = codes.verify_code(text, settings.secret)
    if canonical is None:
        return None
    engagement = engagements.find_by_receipt(session=session, canonical_code=canonical)
    if engagement is None:
        return None
    ruleset = policy.ruleset_for_record(engagement.ruleset_id)
    body = ruleset.complaints_body
    code = codes.format_code(canonical)
    return ReceiptView(
        code=code,
        url=engagements.receipt_url(settings, code),
        officer_name=engagement.officer.name,
        officer_badge=engagement.officer.badge,
        division=engagement.division_code,
        occurred_local=engagement.occurred_at.astimezone(settings.tz),
        place=engagement.location_description or "",
        complaints_body_name=body.name(lang) if body else "",
        complaints_body_website=body.website if body else "",
        complaints_body_phone=body.phone if body else "",
        own_record_text=ruleset.own_record_text(lang) or "",
        lang=lang,
    )
