"""Every exit status hubcli can end with: one table for --help, README and man page."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    HUB_ERROR = 3
    CONNECT_FAILED = 4
    AUTH_REFUSED = 5
    PROTOCOL_ERROR = 6
    CONNECTION_CLOSED = 7
    CONDITION_FAILED = 8
    TIMED_OUT = 124
    INTERRUPTED = 130
    TERMINATED = 143


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success; also --count reached, or stdout closed by the reader (| head)",
    ExitCode.INTERNAL_ERROR: "internal error (a bug; traceback only with -vv)",
    ExitCode.USAGE: "usage error: bad flags/input, impossible combination, unwritable stdout",
    ExitCode.HUB_ERROR: "the hub reported an error (Completion with error)",
    ExitCode.CONNECT_FAILED: "could not connect: DNS, TCP, TLS, negotiate, no usable transport",
    ExitCode.AUTH_REFUSED: "authentication or authorization refused (401/403)",
    ExitCode.PROTOCOL_ERROR: "protocol error: handshake rejected, malformed or oversized message",
    ExitCode.CONNECTION_CLOSED: "the server closed the connection (Close with error, or a drop)",
    ExitCode.CONDITION_FAILED: "bench: a --fail-if condition held (the report is still printed)",
    ExitCode.TIMED_OUT: "timed out (--connect-timeout, --max-time, --idle-timeout)",
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C (CancelInvocation sent first)",
    ExitCode.TERMINATED: "terminated by SIGTERM (handled like Ctrl-C)",
}
