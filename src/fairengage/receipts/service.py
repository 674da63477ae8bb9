"""Looking up a receipt by its code and assembling what the receipt shows (never the person)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fairengage import policy
from fairengage.config import Settings
from fairengage.engagements import service as engagements
from fairengage.engagements.models import Engagement
from fairengage.receipts import codes
from fairengage.receipts.render import ReceiptView

# Looked up in place of a code that cannot be one: no stored code is empty, so it never matches.
_NO_CODE = ""


def engagement_for_code(*, session: Session, settings: Settings, text: str) -> Engagement | None:
    """The engagement a typed code belongs to, when its signature is good and a record carries it; else None.

    The look-up runs whatever was typed (malformed, forged or never issued), so the time an answer
    takes does not tell a guesser which of those a code was; the signature is compared in constant time.
    """
    canonical = codes.normalize_code(text)
    signed = codes.verify_code(text, settings.secret) is not None
    engagement = engagements.find_by_receipt(session=session, canonical_code=canonical or _NO_CODE)
    return engagement if signed and engagement is not None else None


def receipt_for(*, session: Session, text: str, settings: Settings, lang: str) -> ReceiptView | None:
    """The receipt for a typed code when its signature is good and the record exists; else None."""
    engagement = engagement_for_code(session=session, settings=settings, text=text)
    if engagement is None:
        return None
    canonical = engagement.receipt_code
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
