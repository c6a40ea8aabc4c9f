"""Errors that belong to the command line rather than to the connection."""

from __future__ import annotations

import re
from typing import Final

# What may not reach a terminal as it is: a server's text can carry escape
# sequences, NULs and the like (tab is harmless; line breaks are split first).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


class UsageError(Exception):
    """Bad input from argv, the environment or stdin: exit 2 with this message."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class StdinError(UsageError):
    """A stdin record hubcli cannot upload (invalid UTF-8, invalid JSON under --json)."""


class StdoutClosed(Exception):
    """The reader of stdout went away (EPIPE): stop quietly, exit 0."""


class StdoutUnwritable(UsageError):
    """stdout cannot take hubcli's output: closed from the start, or a write failed
    (a full disk, an I/O error). Exit 2, like bad input: the command ran where
    its output cannot go."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"cannot write to stdout: {reason}",
            hint="results go to stdout; redirect it to a file or /dev/null",
        )


def _one_line(text: str) -> str:
    # A hub's error text may carry a stack trace; scripts read stderr line by line.
    line = "; ".join(part.strip() for part in text.splitlines() if part.strip())
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", line)


def report(message: str, hint: str | None = None) -> None:
    """The one stderr line every failure ends with."""
    import sys

    line = f"hubcli: error: {_one_line(message)}"
    if hint:
        line += f" ({_one_line(hint)})"
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except OSError:
        pass
