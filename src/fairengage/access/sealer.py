"""Seals journalled audit entries into the hash chain while the service runs (see audit.journal)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fairengage.access import audit

log = logging.getLogger(__name__)


async def seal_continuously(sessions: sessionmaker[Session], interval: float) -> None:
    """Seal whatever is journalled every `interval` seconds, until cancelled."""
    while True:
        try:
            await run_in_threadpool(audit.seal_all, sessions)
        except SQLAlchemyError as exc:
            # A database that is briefly away must not stop sealing for good: entries wait, safe, in
            # the journal, and the next round seals them. Only the error's class is logged.
            log.warning("audit sealing failed (%s); retrying", type(exc).__name__)
        await asyncio.sleep(interval)


@asynccontextmanager
async def sealing(app: FastAPI) -> AsyncIterator[None]:
    """Run the sealer beside the app, and seal what is left when the app stops."""
    sessions = app.state.sessions
    task = asyncio.create_task(seal_continuously(sessions, app.state.settings.audit_seal_interval))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        try:
            await run_in_threadpool(audit.seal_all, sessions)
        except SQLAlchemyError as exc:
            log.warning("audit sealing at shutdown failed (%s); the next start seals", type(exc).__name__)
