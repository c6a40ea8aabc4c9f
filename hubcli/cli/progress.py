"""The progress line on stderr for long streams and uploads: items, rate, elapsed.

Drawn only for a person: stderr a terminal, no -q, no -v (whose log lines would
cut through it), and for output on stdout only when stdout is not that terminal
too, where the items themselves show the progress (curl's rule). It appears once
a command has run for half a second, is rewritten in place with \\r at most ten
times a second, and is wiped before anything else is written to stderr or the
command ends. No escape sequences: it pads with spaces, so it is right on any
terminal and says nothing about colour.

Cheap on the hot path: one clock read per received frame or stdin chunk, never
per item; with the line off, the callers hold None and skip even that.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Annotated, Any, Final

import typer

from .options import OUTPUT

FIRST_DRAW_AFTER: Final = 0.5
REDRAW_INTERVAL: Final = 0.1

QuietOption = Annotated[
    bool,
    typer.Option(
        "-q",
        "--quiet",
        help="No progress line on stderr (drawn only when stderr is a terminal).",
        rich_help_panel=OUTPUT,
    ),
]


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class Progress:
    """One line of counters on a terminal, redrawn in place."""

    __slots__ = ("_clock", "_fd", "_next_draw", "_shown", "_start", "received", "sent")

    def __init__(self, fd: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        self._fd = fd
        self._clock = clock
        self._start = clock()
        self._next_draw = self._start + FIRST_DRAW_AFTER
        self._shown = 0  # columns the line on screen takes
        self.sent: int | None = None
        self.received: int | None = None

    def add_sent(self, count: int) -> None:
        self.sent = (self.sent or 0) + count
        if self._clock() >= self._next_draw:
            self.draw()

    def add_received(self, count: int) -> None:
        self.received = (self.received or 0) + count
        if self._clock() >= self._next_draw:
            self.draw()

    def line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        counts = []
        if self.sent is not None:
            counts.append(f"sent {self.sent:,}")
        if self.received is not None:
            counts.append(f"received {self.received:,}")
        # The rate of what the user waits for: items back if any come, else items out.
        main = self.received if self.received is not None else self.sent or 0
        return f"hubcli: {', '.join(counts)} items ({main / elapsed:,.0f}/s) in {_elapsed(elapsed)}"

    def draw(self) -> None:
        now = self._clock()
        self._next_draw = now + REDRAW_INTERVAL
        text = self.line(now)
        with suppress(OSError):
            columns = os.get_terminal_size(self._fd).columns
            if columns > 1:  # 0: a terminal that does not know its size
                # One column short of the width: a full line would wrap on some
                # terminals, and \r cannot rewrite a wrapped line.
                text = text[: columns - 1]
        self._write("\r" + text + " " * max(self._shown - len(text), 0))
        self._shown = len(text)

    def clear(self) -> None:
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def _write(self, text: str) -> None:
        # Best effort: a terminal that cannot take the line now (stderr may share
        # stdout's non-blocking open file) misses one frame of it, nothing more.
        with suppress(OSError):
            os.write(self._fd, text.encode())


def wanted(*, quiet: bool, verbosity: int, output_on_stdout: bool) -> bool:
    if quiet or verbosity > 0 or not os.isatty(2):
        return False
    return not (output_on_stdout and os.isatty(1))


@contextmanager
def progress_line(enabled: bool) -> Iterator[Progress | None]:
    """A Progress while the block runs (None when off), wiped when it ends however."""
    if not enabled:
        yield None
        return
    progress = Progress()
    try:
        yield progress
    finally:
        progress.clear()


def counting_sent(
    source: AsyncIterator[Sequence[Any]], progress: Progress | None
) -> AsyncIterator[Sequence[Any]]:
    """`source`, batch by batch, counting the items it yields as sent."""
    return source if progress is None else _counting_sent(source, progress)


async def _counting_sent(
    source: AsyncIterator[Sequence[Any]], progress: Progress
) -> AsyncIterator[Sequence[Any]]:
    async for batch in source:
        progress.add_sent(len(batch))
        yield batch
