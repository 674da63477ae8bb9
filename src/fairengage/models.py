"""Imports every capability's tables so that metadata (and Alembic) sees the whole schema."""

from fairengage.access.models import ApiToken, AuditEntry, AuditHead, User
from fairengage.db import Base
from fairengage.engagements.models import Engagement, Finding, IdempotencyRecord, Person
from fairengage.officers.models import Division, Officer, TrainingRecord

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Division",
    "Engagement",
    "Finding",
    "IdempotencyRecord",
    "Officer",
    "Person",
    "TrainingRecord",
    "User",
]
