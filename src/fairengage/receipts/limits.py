"""Rate limits on the public receipt routes and on complaint filing, per client address and per code.

Every request to a receipt route (check page, print page, PDF, QR code, complaint form and its
answers) counts as a `view`; each complaint or own-record request actually filed counts as a `filing`,
with lower limits over a longer window. Counts are rows in `public_requests`, read and written through
the sign-in throttle's windowed count (access/throttle.py), so every server process and both databases
see the same numbers. A code is counted as typed, after normalising: a malformed, a forged and a
never-issued code are counted alike, so the limits say nothing about which codes exist.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from fairengage.access import throttle
from fairengage.config import Settings
from fairengage.db import transaction
from fairengage.receipts import codes
from fairengage.receipts.models import PublicRequest
from fairengage.web.deps import sessions_of, settings_of
from fairengage.web.i18n import N_, pick_language, translations
from fairengage.web.problems import problem, wants_page
from fairengage.web.templating import render

Kind = Literal["view", "filing"]
TITLE = N_("Too many requests")
DETAIL = N_("Too many requests came from here, or for this receipt code. Try again in %(minutes)s minutes.")


def _limits(settings: Settings, kind: Kind) -> tuple[int, int, timedelta]:
    if kind == "filing":
        return (
            settings.complaint_client_limit,
            settings.complaint_code_limit,
            timedelta(seconds=settings.complaint_window),
        )
    return settings.public_client_limit, settings.public_code_limit, timedelta(seconds=settings.public_window)


def code_key(settings: Settings, text: str) -> str:
    """The key a typed code is counted under: its canonical form, or the text when it cannot be a code."""
    return throttle.keyed(settings, "code", codes.normalize_code(text) or text.strip()[:64])


def client_key(settings: Settings, address: str) -> str:
    """The key a client address is counted under (the same keyed hash sign-in throttling uses)."""
    return throttle.client_key(settings, address)


def paused(
    *, session: Session, settings: Settings, kind: Kind, client: str, code: str, now: datetime
) -> throttle.Pause | None:
    """The pause in force for this client or this code (the longer one), or None."""
    client_limit, code_limit, window = _limits(settings, kind)
    same_kind = PublicRequest.kind == kind
    found = [
        throttle.window_pause(
            session, PublicRequest.at, PublicRequest.client_key, client_key(settings, client),
            client_limit, "client", window, now, same_kind,
        ),
        throttle.window_pause(
            session, PublicRequest.at, PublicRequest.code_key, code_key(settings, code),
            code_limit, "code", window, now, same_kind,
        ),
    ]  # fmt: skip
    pauses = [p for p in found if p is not None]
    return max(pauses, key=lambda p: p.until) if pauses else None


def record(
    *, session: Session, settings: Settings, kind: Kind, client: str, code: str, now: datetime
) -> None:
    """Count one request (or one filing); rows older than the longest window are dropped on the way."""
    longest = max(settings.public_window, settings.complaint_window)
    session.execute(
        delete(PublicRequest)
        .where(PublicRequest.at <= now - timedelta(seconds=longest))
        .execution_options(synchronize_session=False)
    )
    session.add(
        PublicRequest(
            at=now, kind=kind, client_key=client_key(settings, client), code_key=code_key(settings, code)
        )
    )
    session.flush()


def admit(
    *, session: Session, settings: Settings, kind: Kind, client: str, code: str, now: datetime
) -> throttle.Pause | None:
    """Count the request unless a limit is already reached; the pause that refuses it, or None.

    A refused request is not counted: the pause ends when the window has moved on, however hard the
    client keeps knocking, so a limit reached once does not lock a code out for good.
    """
    client_limit, code_limit, _ = _limits(settings, kind)
    if client_limit <= 0 and code_limit <= 0:
        return None  # both limits off: nothing to count
    pause = paused(session=session, settings=settings, kind=kind, client=client, code=code, now=now)
    if pause is None:
        record(session=session, settings=settings, kind=kind, client=client, code=code, now=now)
    return pause


def client_of(request: Request) -> str:
    """The client address as the server saw it (behind a proxy, only with uvicorn's --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def refused(request: Request, code: str, kind: Kind = "view") -> Response | None:
    """Count a public request in its own short transaction; a 429 answer when a limit refuses it."""
    settings = settings_of(request)
    now = datetime.now(UTC)
    with transaction(sessions_of(request)) as session:
        pause = admit(
            session=session, settings=settings, kind=kind, client=client_of(request), code=code, now=now
        )
    return None if pause is None else too_many(request, pause)


def too_many(request: Request, pause: throttle.Pause) -> Response:
    """429 with Retry-After: a translated page for a browser, problem+json for a client asking for JSON."""
    lang = pick_language(request)
    gettext = translations(lang).gettext
    detail = gettext(DETAIL) % {"minutes": max(1, math.ceil(pause.retry_after / 60))}
    if wants_page(request):
        response: Response = render(
            request, "error.html", {"title": TITLE, "detail": detail}, status_code=429, lang=lang
        )
    else:
        response = problem(
            429,
            "Too many requests",
            "too-many-requests",
            f"{detail} Nothing was stored.",
            [
                {
                    "field": "code" if pause.scope == "code" else "client",
                    "rule": "RATE-LIMIT",
                    "message": detail,
                }
            ],
            instance=request.url.path,
        )
    response.headers["Retry-After"] = str(pause.retry_after)
    return response
