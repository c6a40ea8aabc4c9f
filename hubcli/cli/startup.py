"""The garbage collector's schedule for one run of the `hubcli` program.

A run is short and begins with imports: several hundred modules whose objects
live until the process ends. Looking for garbage among them is wasted work, about
a tenth of a cold `hubcli invoke`, so the collector is off while the program
starts, and whatever exists when the command begins its work is frozen: later
collections, and the interpreter's last one at exit, skip it.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
    exists now (it lives until exit). Safe to call more than once."""
    gc.freeze()
    gc.enable()
