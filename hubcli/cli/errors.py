"""Errors that belong to the command line rather than to the connection, and the
wording of each kind of message: one function per kind, so that every file
hubcli cannot read, and every size over a limit, reads the same way."""

from __future__ import annotations

import re
from typing import Final

# What may not reach a terminal as it is: a server's text can carry escape
# sequences, NULs and the like (tab is harmless; line breaks are split first).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

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


class ThresholdsFailed(Exception):
    """`hubcli bench --fail-if` conditions held: exit 8, naming them."""


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
    if sys.stderr is None:  # descriptor 2 closed: the exit status says it alone
        return
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def server_limit_hint(closed_with: str, largest_sent: int) -> str | None:
    """Why a server may have closed with ASP.NET Core's bare "Connection closed
    with an error.": it says no more, and a message over its receive limit is the
    common cause a client can do something about."""
    if "Connection closed with an error" not in closed_with:
        return None
    if largest_sent <= SERVER_DEFAULT_RECEIVE_LIMIT:
        return None
    return (
        f"hubcli sent a message of at least {largest_sent} bytes; ASP.NET Core hubs refuse "
        f"messages over 32 KB, {SERVER_DEFAULT_RECEIVE_LIMIT} bytes, unless their "
        "MaximumReceiveMessageSize is raised"
    )


def insecure_unused(url: str) -> str:
    """The warning for -k on a URL without TLS."""
    scheme = url.partition("://")[0].lower()
    return f"hubcli: warning: --insecure has no effect: a {scheme}:// URL does not use TLS"


def auth_hint(status: int, *, header: bool, token: bool) -> str:
    """What to do about a 401 or 403, given the credentials that went: an
    Authorization header (-H, which wins over a token) or a bearer token."""
    if header:
        sent = "the -H 'Authorization: ...' header"
    elif token:
        sent = "the bearer token of --token, --token-file or HUBCLI_TOKEN"
    else:
        return (
            "the hub wants credentials: a bearer token with --token, --token-file or "
            "HUBCLI_TOKEN, or another scheme with -H 'Authorization: SCHEME VALUE'"
        )
    if status == 403:
        return f"the hub took {sent} but does not let it in: check its permissions"
    if header:
        # The header wins over a token: a user who also gave --token may not know.
        return (
            f"the hub refused {sent}: check its value and that it has not expired; for a "
            "bearer token, drop the header and use --token, --token-file or HUBCLI_TOKEN"
        )
    return f"the hub refused {sent}: check its value and that it has not expired"
