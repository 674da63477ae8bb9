"""Seals journalled audit entries into the hash chain while the service runs (see audit.journal), and
writes a signed checkpoint to the checkpoint folder every FAIRENGAGE_AUDIT_CHECKPOINT_INTERVAL seconds
when the log has grown (access/transparency.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fairengage.access import audit, transparency
from fairengage.config import Settings

log = logging.getLogger(__name__)


async def seal_continuously(
    sessions: sessionmaker[Session], interval: float, settings: Settings | None = None
) -> None:
    """Seal whatever is journalled every `interval` seconds, and checkpoint on schedule, until cancelled."""
    last_checkpoint = time.monotonic()
    try:
        # A log from before the Merkle tree gets its tree now, not in the first request that appends.
        await run_in_threadpool(complete_tree, sessions)
    except (SQLAlchemyError, RuntimeError) as exc:
        log.error("audit tree not completed at start-up (%s)", exc)
    while True:
        try:
            await run_in_threadpool(audit.seal_all, sessions)
        except SQLAlchemyError as exc:
            # A database that is briefly away must not stop sealing for good: entries wait, safe, in
            # the journal, and the next round seals them. Only the error's class is logged.
            log.warning("audit sealing failed (%s); retrying", type(exc).__name__)
        except audit.AuditRolledBack as exc:
            log.error("audit sealing refused: %s", exc)
        if settings is not None and time.monotonic() - last_checkpoint >= settings.audit_checkpoint_interval:
            last_checkpoint = time.monotonic()
            await run_in_threadpool(scheduled_checkpoint, sessions, settings)
        await asyncio.sleep(interval)


def complete_tree(sessions: sessionmaker[Session]) -> int:
    """Bring the audit log's Merkle tree up to its head, in one transaction; the tree's size."""
    with sessions.begin() as session:
        return audit.complete_tree(session)


def scheduled_checkpoint(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Write a checkpoint to the folder if a key file is set and the log grew; log, never raise."""
    if settings.audit_signing_key_file is None:
        return
    try:
        _, _, path = transparency.write_checkpoint(sessions, settings, only_if_grown=True)
    except (SQLAlchemyError, OSError, transparency.CheckpointError, audit.AuditRolledBack) as exc:
        log.error("audit checkpoint not written: %s", exc)
        return
    if path is not None:
        log.info("audit checkpoint written to %s", path)


@asynccontextmanager
async def sealing(app: FastAPI) -> AsyncIterator[None]:
    """Run the sealer beside the app, and seal what is left when the app stops."""
    sessions = app.state.sessions
    settings = app.state.settings
    task = asyncio.create_task(seal_continuously(sessions, settings.audit_seal_interval, settings))
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
