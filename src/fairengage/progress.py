"""How every long job says how far it is: one protocol, and the displays that speak it.

A job (import, extract, analyze, report, a release build, the speed benchmark, the drills, the demo)
takes a `Progress` and calls two things on it: `phase(description, total)` when it starts a phase of
`total` units (rows; None when unknown, as for a named step), and `advance(n)` as units are done. It
never knows where the progress goes:

- `shown(command, console)`: a rich bar on a terminal, and anywhere else (a pipe, a log, cron)
  `PlainProgress`, a line every few seconds and one when a phase starts, saying what is done and what
  remains (a bar is invisible there, so a job running for minutes would print nothing until it ends):

      extract: writing table.parquet: 1,200,000 of 3,000,000 rows, 40 %  (12 s)

  A job done within the first few seconds prints nothing: its result (or its one-line error, which
  editors and scripts read) is all there is to say. A job of a known number of named steps (analyze,
  report) gives `steps=N`, and each phase is the next step: "step 3 of 9".
- `Lines`: each phase as one line of its own, for jobs whose phases are the account of what they did
  (the speed benchmark's runs, the drills' events).
- `JobProgress` (reports/publications.py): the state of a report run that its web page shows.
- `NO_PROGRESS`: nowhere, the default of every job.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol, TextIO

# Seconds between lines while a phase runs: often enough to show the job is alive, rare enough for a log.
INTERVAL = 5.0
# Seconds of silence at the start (None: one interval), so that quick jobs print only their result.
QUIET: float | None = None


class Progress(Protocol):
    """Where a long job reports how far it is."""

    def phase(self, description: str, total: int | None = None) -> None:
        """A new phase (or the next step) of the job, of `total` units when known."""

    def advance(self, steps: int = 1) -> None:
        """`steps` more units of the current phase are done."""


class NoProgress:
    """Progress that goes nowhere: the default of every job."""

    def phase(self, description: str, total: int | None = None) -> None:
        """Nothing to show."""

    def advance(self, steps: int = 1) -> None:
        """Nothing to show."""


NO_PROGRESS = NoProgress()


class Lines:
    """Each phase as one line of its own (`say` prints it), and no ticker: for jobs whose phases are
    the account of what they did."""

    def __init__(self, say: Any) -> None:
        self.say = say

    def phase(self, description: str, total: int | None = None) -> None:
        """Print the phase's description."""
        self.say(description)

    def advance(self, steps: int = 1) -> None:
        """Units are not counted here: the lines are the account."""


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

    def phase(self, description: str, total: int | None = None) -> None:
        """A new phase of `total` units (None: unknown); with `steps`, the next step."""
        with self._lock:
            self.description, self.done, self.total = description, 0, total
            if self.steps:
                self.step_number = min(self.step_number + 1, self.steps)
        self._announce()

    def advance(self, steps: int = 1) -> None:
        """`steps` more units of the current phase are done (no line: the ticker reports)."""
        with self._lock:
            self.done += steps

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


class _Bar:
    """A rich progress bar: one bar per phase, or with `steps` one bar over the job's steps."""

    def __init__(self, bar: Any, steps: int | None) -> None:
        self.bar = bar
        self.steps = steps
        self.count = 0
        self.task: Any = None

    def phase(self, description: str, total: int | None = None) -> None:
        """Name the next step, or finish the previous phase's bar and start a new one."""
        self.count += 1
        if self.steps:
            if self.task is None:
                self.task = self.bar.add_task(description, total=self.steps)
            self.bar.update(self.task, completed=min(self.count - 1, self.steps), description=description)
            return
        if self.task is not None:
            self.bar.update(self.task, visible=False)
        self.task = self.bar.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        """Move the current phase on (the steps of a job move on with each phase instead)."""
        if self.task is not None and not self.steps:
            self.bar.advance(self.task, steps)


@contextlib.contextmanager
def shown(command: str, console: Any, *, steps: int | None = None) -> Iterator[Progress]:
    """A job's progress for people: a bar on a terminal; elsewhere lines on stderr (`PlainProgress`).

    `console` is the rich console the command writes its messages on (stderr); `steps`, the number of
    named steps when the job has a fixed number of them.
    """
    if not console.is_terminal:
        with PlainProgress(command, steps=steps) as plain:
            yield plain
        return
    # deferred: rich's progress display loads only when a terminal will show it
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        yield _Bar(bar, steps)
