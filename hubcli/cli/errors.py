"""Errors that belong to the command line rather than to the connection, and the
wording of each kind of message: one function per kind, so that every file
hubcli cannot read, and every size over a limit, reads the same way."""

from __future__ import annotations

from typing import Final

# ASP.NET Core's HubOptions.MaximumReceiveMessageSize unless the hub's owner
# changed it: a larger message from us ends the connection with a bare
# "Connection closed with an error."
SERVER_DEFAULT_RECEIVE_LIMIT: Final = 32 * 1024


def reason(error: BaseException | str) -> str:
    """What went wrong, without Python's "[Errno 2]" or the repeated file name."""
    if isinstance(error, str):
        return error
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def cannot_read(what: str, error: BaseException | str) -> str:
    """`what` (e.g. "--token-file t.txt", "stdin") could not be read."""
    return f"cannot read {what}: {reason(error)}"


def over_limit(what: str, limit: int, size: int | None = None) -> str:
    """`what` is larger than `limit` bytes (by how much, when its `size` is known)."""
    measured = "" if size is None else f" {size} bytes,"
    return f"{what} is{measured} larger than the limit of {limit} bytes"


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
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


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
