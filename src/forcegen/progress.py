"""Progress of long commands, on stderr: a bar on a terminal, plain lines in logs.

The analyses report progress through a plain callback, ``progress(done, total)`` (``total``
``None`` when it is not known in advance); this module turns those calls into what a person
sees. On a terminal that is a rich bar, gone when the work ends. Elsewhere (a log file, a
pipe, a batch job) it is one plain line at most every :data:`INTERVAL` seconds, such as
``simulating: 40 of 100 runs (40%)``, and a last line when the work ends, so that a log
shows life; work that ends within the first interval prints nothing. Nothing here writes to
stdout, which belongs to the data (``--format json``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

INTERVAL = 5.0
"""Seconds between two plain progress lines (the first comes after one interval)."""


class Lines:
    """Plain progress lines on a stream that is not a terminal."""

    def __init__(self, label: str, unit: str, stream: TextIO, interval: float) -> None:
        self.label, self.unit, self.stream, self.interval = label, unit, stream, interval
        self.start = self.last = time.monotonic()
        self.done, self.total = 0, None
        self.shown = ""  # the last line written

    def line(self) -> str:
        if self.total:
            share = self.done / self.total
            return f"{self.label}: {self.done:,} of {self.total:,} {self.unit} ({share:.0%})"
        return f"{self.label}: {self.done:,} {self.unit}"

    def _write(self) -> None:
        self.shown = self.line()
        self.stream.write(self.shown + "\n")
        self.stream.flush()

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._write()

    def close(self) -> None:
        """The last line, if any line was shown (and the last one is not it already)."""
        if self.shown and self.shown != self.line() and not self.stream.closed:
            self._write()


@contextmanager
def reporting(
    label: str, unit: str, console: Console, *, interval: float | None = None
) -> Iterator[Lines | _Bar]:
    """A ``progress(done, total)`` callback for the work done inside, shown on ``console``.

    ``label`` says what is done (``simulating``), ``unit`` what is counted (``runs``).
    """
    if console.is_terminal:
        bar = _Bar(label, unit, console)
        with bar.progress:
            yield bar
        return
    lines = Lines(label, unit, console.file, INTERVAL if interval is None else interval)
    try:
        yield lines
    finally:
        lines.close()


class _Bar:
    """A rich progress bar, removed when the work ends."""

    def __init__(self, label: str, unit: str, console: Console) -> None:
        self.label, self.unit = label, unit
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(f"{label} ({unit})", total=None)

    def __call__(self, done: int, total: int | None = None) -> None:
        self.progress.update(self.task, completed=done, total=total)
