"""Run one command under trio: signals, --max-time, and errors to exit codes.

The first SIGINT/SIGTERM cancels the command's work scope, so the library's bounded
clean-up runs (CancelInvocation, a brief wait, Close); a second one aborts that
clean-up at once, and so does CLEAN_UP_SECONDS passing after a signal or the
--max-time limit. Every failure ends as one `hubcli: error: ...` line on stderr and
the exit code of its kind; a traceback only for a bug, and only with -vv.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import trio

from hubcli import client
from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS, DEFAULT_SERVER_TIMEOUT_SECONDS
from hubcli._groups import sole_exception
from hubcli.errors import (
    HubcliError,
    InvalidArgumentError,
    MessageTooLargeError,
    ProtocolError,
    UnencodableValueError,
)
from hubcli.protocol import jsonvalues

from . import PROCESS_START
from .errors import (
    StdoutClosed,
    ThresholdsFailed,
    UsageError,
    auth_hint,
    over_limit,
    report,
    server_limit_hint,
)
from .exit_codes import ExitCode
from .options import ConnectionSettings, OutputSettings
from .output import Output, StdoutWriter, formatter_for
from .pretty import choose_style

if TYPE_CHECKING:
    from hubcli.client import Hub

logger: Final = logging.getLogger("hubcli")

# How long the clean-up after a signal or --max-time may take in all: the
# library's close_timeout, which bounds each of its steps.
CLEAN_UP_SECONDS: Final = DEFAULT_CLOSE_TIMEOUT_SECONDS
_SIGNAL_EXIT: Final = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}
_SECRETS: Final = re.compile(
    r"(?P<keep>access_token=|\bid=|Bearer\s+|\"(?:accessToken|access_token|connectionToken)\"\s*:\s*\")"
    r"(?P<secret>[^&\s\"',)]+)"
)


def redact(text: str) -> str:
    return _SECRETS.sub(lambda match: f"{match['keep']}***", text)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(verbosity: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("hubcli: %(message)s"))
    hub_logger = logging.getLogger("hubcli")
    hub_logger.handlers[:] = [handler]
    hub_logger.propagate = False
    hub_logger.setLevel(
        logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    )


@dataclass
class Session:
    """What a command body works with: its connection, and stdout."""

    settings: ConnectionSettings
    output: Output
    _hubs: list[Hub] = field(default_factory=list)
    # Sizes of what the command sends, measured only for a hint about a limit.
    _outgoing: list[Callable[[], int]] = field(default_factory=list)

    def sends(self, values: Sequence[Any]) -> None:
        """Note the hub arguments the command sends."""
        self._outgoing.append(partial(_json_size, values))

    def sends_sized(self, measure: Callable[[], int]) -> None:
        """Note something the command sends, of the size `measure` gives."""
        self._outgoing.append(measure)

    def largest_sent(self) -> int:
        return max((measure() for measure in self._outgoing), default=0)

    @asynccontextmanager
    async def connect(self, **extra: Any) -> AsyncIterator[Hub]:
        """`hubcli.connect` with the command line's settings, and `extra` arguments."""
        arguments = {**self.settings.connect_arguments(), **extra}
        async with client.connect(self.settings.url, **arguments) as hub:
            known = f", connection {hub.connection_id}" if hub.connection_id else ""
            logger.info("connected: %s, %s%s", hub.transport, hub.protocol, known)
            # Kept after the body too: leaving `connect` is clean-up (Close) to abort.
            self._hubs.append(hub)
            yield hub

    def abort(self) -> None:
        self.abort_connections()
        self.output.writer.abort()

    def abort_connections(self) -> None:
        """End the connections' clean-up (CancelInvocation, Close) at once."""
        for hub in self._hubs:
            hub.abort()


def _auth_hint(error: client.AuthenticationError, settings: ConnectionSettings) -> str:
    if error.status_code == 407:
        return "put the proxy's credentials in its URL: --proxy http://USER:PASSWORD@HOST:PORT"
    network = settings.network
    return auth_hint(
        error.status_code,
        header=network is not None
        and any(name.lower() == "authorization" for name, _ in network.headers),
        token=network is not None and network.access_token is not None,
    )


def _tls_hint(error: client.TlsError) -> str | None:
    text = str(error)
    if "verification failed" in text:
        return "--cacert FILE trusts a private CA; -k skips verification"
    if "client certificate" in text:
        return "pass --cert FILE and --key FILE"
    return None


def _json_size(values: Sequence[Any]) -> int:
    try:
        return len(jsonvalues.dumps(values))
    except (TypeError, ValueError):
        return 0


def exit_code_for(
    error: BaseException, settings: ConnectionSettings, largest_sent: Callable[[], int] = int
) -> ExitCode:
    """Report `error` on stderr (one line) and give its exit code.

    `largest_sent`: the size of the largest message the command sent, for a hint
    (measured only then)."""
    if isinstance(error, StdoutClosed):
        return ExitCode.OK
    if isinstance(error, UsageError):
        report(str(error), error.hint)
        return ExitCode.USAGE
    if isinstance(error, ThresholdsFailed):
        report(f"--fail-if: {error}")
        return ExitCode.CONDITION_FAILED
    if isinstance(error, UnencodableValueError):
        report(str(error), "send it as a string, or use -p json")
        return ExitCode.USAGE
    if isinstance(error, InvalidArgumentError):
        report(str(error))
        return ExitCode.USAGE
    if isinstance(error, client.HubError):
        report(str(error))
        return ExitCode.HUB_ERROR
    if isinstance(error, client.AuthenticationError):
        report(str(error), _auth_hint(error, settings))
        return ExitCode.AUTH_REFUSED
    if isinstance(error, client.ServerTimeoutError):
        idle = settings.idle_timeout
        if idle is None:
            idle = DEFAULT_SERVER_TIMEOUT_SECONDS
        report(str(error), f"--idle-timeout {idle:g} s")
        return ExitCode.TIMED_OUT
    if isinstance(error, client.HubTimeoutError):
        report(str(error))
        return ExitCode.TIMED_OUT
    if isinstance(error, MessageTooLargeError):
        # A WebSocket message stops being read at the limit: its size is unknown.
        size = None if isinstance(error, client.FrameTooLargeError) else error.size
        report(
            over_limit("a message from the server", error.limit, size), "raise --max-message-size"
        )
        return ExitCode.PROTOCOL_ERROR
    # Before ConnectError: a rejected handshake (a HandshakeError) is both.
    if isinstance(error, ProtocolError):
        report(str(error))
        return ExitCode.PROTOCOL_ERROR
    if isinstance(error, client.TlsError):
        report(str(error), _tls_hint(error))
        return ExitCode.CONNECT_FAILED
    if isinstance(error, client.ConnectError):
        report(str(error))
        return ExitCode.CONNECT_FAILED
    if isinstance(error, client.ConnectionClosedError):
        report(str(error), server_limit_hint(str(error), largest_sent()))
        return ExitCode.CONNECTION_CLOSED
    if isinstance(error, HubcliError):
        report(str(error))
        return ExitCode.CONNECT_FAILED
    if settings.verbosity >= 2:
        traceback.print_exception(error)
    report(
        f"internal error: {type(error).__name__}: {error}",
        None if settings.verbosity >= 2 else "run with -vv for the traceback",
    )
    return ExitCode.INTERNAL_ERROR


async def _watch_signals(
    signals: AsyncIterator[int],
    work: trio.CancelScope,
    session: Session,
    received: list[int],
    clean_up: trio.CancelScope,
) -> None:
    async for signum in signals:
        if not received:
            received.append(signum)
            logger.info("%s: cancelling", signal.Signals(signum).name)
            work.cancel()
            clean_up.deadline = trio.current_time() + CLEAN_UP_SECONDS
        else:
            logger.info("%s again: aborting", signal.Signals(signum).name)
            session.abort()


async def _limit_clean_up(session: Session, clean_up: trio.CancelScope) -> None:
    """Cut the clean-up short when `clean_up` expires (its deadline is set once
    the command is cancelled): each of its steps has a time limit of its own, but
    a server that stopped answering would make the user wait for all of them."""
    with clean_up:
        await trio.sleep_forever()
    logger.info("the clean-up took too long: aborting it")
    session.abort_connections()


async def _run(body: Callable[[Session], Awaitable[None]], session: Session) -> ExitCode:
    settings = session.settings
    received: list[int] = []
    code = ExitCode.OK
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            work = trio.CancelScope()
            clean_up = trio.CancelScope()
            if settings.max_time is not None:
                elapsed = time.monotonic() - PROCESS_START
                work.deadline = trio.current_time() + settings.max_time - elapsed
                clean_up.deadline = work.deadline + CLEAN_UP_SECONDS
            nursery.start_soon(_watch_signals, signals, work, session, received, clean_up)
            nursery.start_soon(_limit_clean_up, session, clean_up)
            try:
                with work:
                    await body(session)
            except BaseException as error:
                leaf = sole_exception(error)
                if received or isinstance(leaf, (KeyboardInterrupt, SystemExit)):
                    code = ExitCode.OK
                elif isinstance(leaf, trio.Cancelled):
                    raise
                else:
                    code = exit_code_for(leaf, settings, session.largest_sent)
            finally:
                nursery.cancel_scope.cancel()
    if received:
        return _SIGNAL_EXIT[signal.Signals(received[0])]
    if work.cancelled_caught:
        report(f"timed out after {settings.max_time:g} s", "--max-time")
        return ExitCode.TIMED_OUT
    return code


def run_command(
    body: Callable[[Session], Awaitable[None]],
    settings: ConnectionSettings,
    output: OutputSettings | None = None,
) -> int:
    """Run `body` to completion and give the process's exit status.

    `output` is None for a command that prints nothing, which then runs with a
    closed stdout too.
    """
    configure_logging(settings.verbosity)
    for warning in settings.warnings:
        sys.stderr.write(warning + "\n")
    shown = output or OutputSettings()
    style = choose_style(
        pretty=shown.pretty, color=shown.color, isatty=os.isatty(1), environ=os.environ
    )
    formatter = formatter_for(
        raw=shown.raw,
        envelope=shown.envelope,
        messagepack=settings.protocol == "messagepack",
        style=style,
    )
    writer = StdoutWriter()
    if output is not None and writer.unusable is not None:
        # Before connecting: the hub method must not run for output that cannot land.
        return int(exit_code_for(writer.unusable, settings))
    session = Session(settings, Output(formatter, writer))
    try:
        code = trio.run(_run, body, session)
    except KeyboardInterrupt:  # before trio's signal receiver was in place
        code = ExitCode.INTERRUPTED
    finally:
        writer.close()
    if writer.broken:
        # The reader of stdout has gone; Python's own flush at exit would then print
        # "Exception ignored ... BrokenPipeError". Pointing fd 1 at /dev/null ends that.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    return int(code)
