"""The garbage collector's schedule for one run of the `hubcli` program.

A run is short and begins with imports: several hundred modules whose objects
live until the process ends. Looking for garbage among them is wasted work, about
a tenth of a cold `hubcli invoke`, so the collector is off while the program
starts, and whatever exists when the command begins its work is frozen: later
collections, and the interpreter's last one at exit, skip it.

Then the work: a stream decodes every received frame into thousands of dicts and
lists that live until the frame is printed, and Python's default (a young-object
collection every 700 net allocations) would run several collections per frame,
each finding nothing, since reference counting frees those objects. A threshold
above a frame's worth keeps cycles collected at a bounded cost in memory (at most
YOUNG_OBJECTS uncollected containers) and saves about a tenth of a stream of objects.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

YOUNG_OBJECTS: Final = 100_000


@contextmanager
def collector_paused() -> Iterator[None]:
    """No collections inside, until `resume_collector`; as it was after."""
    was_enabled = gc.isenabled()
    gc.disable()
    atexit.unregister(gc.freeze)  # once, however often main() runs in one process
    atexit.register(gc.freeze)  # at exit: before the interpreter's final collection
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def resume_collector() -> None:
    """Once a command has imported what it needs: collect again, except what
    exists now (it lives until exit), and less often. Safe to call more than once."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, old)
    gc.enable()


def collect_after_reconnect() -> None:
    """A connection that was lost and replaced leaves cycles behind (its failure's
    traceback holds its frames, which hold it). With young collections as rare as
    YOUNG_OBJECTS makes them, a quiet `listen --reconnect` kept each one (~18 KB)
    for hours: RSS grew 30.5 -> 33.7 MiB over 176 reconnects. Collect them now; a
    reconnect is rare, and the heap left after `gc.freeze` is small."""
    gc.collect()
