"""Requests to the public receipt pages and complaint filings, counted for their rate limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from fairengage.db import Base, UTCDateTime


class PublicRequest(Base):
    """One request to a receipt route (`view`) or one complaint filed (`filing`), under keyed hashes.

    Hashes of the client address and of the code, never the text: the table exists to count, and a
    receipt code is the key to a person's engagement (docs/security.md).
    """

    __tablename__ = "public_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    client_key: Mapped[str] = mapped_column(String(64), index=True)
    code_key: Mapped[str] = mapped_column(String(64), index=True)
