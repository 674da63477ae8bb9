"""Progress of long commands as plain lines, for when output is not a terminal (a pipe, a log, cron).

A terminal gets a rich progress bar (each command's cli.py); anywhere else a bar is invisible, so a job
that runs for minutes would print nothing until it ends. This prints a line every few seconds, and one
when a phase starts, saying what is done and what remains:

    extract: writing table.parquet: 1,200,000 of 3,000,000 rows, 40 % (12 s)

A job done within the first few seconds prints nothing: its result (or its one-line error, which
editors and scripts read) is all there is to say.

It speaks the three hooks the commands already use: `phase`/`advance` (import, extract), a step
message (analyze) and `update(done, total, message)` (report).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

# Seconds between lines while a phase runs: often enough to show the job is alive, rare enough for a log.
INTERVAL = 5.0
# Seconds of silence at the start (None: one interval), so that quick jobs print only their result.
QUIET: float | None = None


class PlainProgress:
    """Progress lines on a stream (stderr), one at each phase and one every `interval` seconds."""

    def __init__(
        self,
        command: str,
        *,
        stream: TextIO | None = None,
        interval: float | None = None,
        unit: str = "rows",
        steps: int | None = None,
        quiet: float | None = None,
    ) -> None:
        self.command = command
        self.stream = stream or sys.stderr
        self.interval = INTERVAL if interval is None else interval
        quiet = QUIET if quiet is None else quiet
        self.quiet = self.interval if quiet is None else quiet
        self.unit = unit
        self.steps = steps
        self.description = ""
        self.done = 0
        self.total: int | None = None
        self.step_number = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> PlainProgress:
        self._ticker = threading.Thread(target=self._tick, name=f"{self.command}-progress", daemon=True)
        self._ticker.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()

    # import and extract
    def phase(self, description: str, total: int | None) -> None:
        """A new phase of `total` units (None: unknown)."""
        with self._lock:
            self.description, self.done, self.total = description, 0, total
        self._announce()

    def advance(self, steps: int) -> None:
        """`steps` more units of the current phase are done (no line: the ticker reports)."""
        with self._lock:
            self.done += steps

    # analyze: each call is the next of `steps` steps
    def __call__(self, message: str) -> None:
        with self._lock:
            self.step_number += 1
            self.description, self.done, self.total = message, 0, None
        self._announce()

    # report: steps done of all, with the current one's name
    def update(self, done: int, total: int, message: str) -> None:
        """The report build's hook: `done` of `total` steps, now `message`."""
        with self._lock:
            changed = message != self.description
            self.description, self.step_number, self.steps = message, min(done + 1, total), total
        if changed:
            self._announce()

    def line(self) -> str:
        """The current state in one line."""
        with self._lock:
            parts = [f"{self.command}:"]
            if self.step_number:
                parts.append(f"step {self.step_number}" + (f" of {self.steps}" if self.steps else "") + ",")
            parts.append(self.description or "starting")
            if self.total:
                share = min(100, int(100 * self.done / self.total))
                parts[-1] += f": {self.done:,} of {self.total:,} {self.unit}, {share} %"
            elif self.done:
                parts[-1] += f": {self.done:,} {self.unit}"
            seconds = time.monotonic() - self.started
        return " ".join(parts) + f" ({seconds:.0f} s)"

    def emit(self) -> None:
        """Write the current state as a line, now."""
        text = self.line()
        with self._lock:
            print(text, file=self.stream, flush=True)

    def _announce(self) -> None:
        # A new phase or step is worth a line at once, unless the job is still in its quiet start.
        if time.monotonic() - self.started >= self.quiet:
            self.emit()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.emit()
