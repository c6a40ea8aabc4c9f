"""`hubcli demo`: the whole tool at work against the built-in hub, on a fresh machine.

The hub runs in this process; each example is the real `hubcli` in a child process,
so what the demo prints is exactly what a user typing the shown line would see.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import typer

from hubcli._groups import sole_exception

from .app import app
from .errors import StdoutUnwritable, report
from .exit_codes import ExitCode
from .helptext import Command, epilog

if TYPE_CHECKING:
    from hubcli.server import ServerOptions
    from hubcli.server.app import HubApp

DEMO_HELP = """Start the built-in hub on a free loopback port and run examples against it.

Each example prints the command line it runs (as you would type it, with the real
URL), then that command's own output and, when it is not 0, its exit status. The
demo exits 0 when every example ended as expected."""


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    argv: tuple[str, ...]  # after `hubcli`, with {url} standing for the hub URL
    stdin: bytes | None = None
    expected_status: ExitCode = ExitCode.OK
    # Runs beside the next example (`&`), once it has joined this group of the hub.
    background_in_group: str | None = None

    def command(self, url: str) -> list[str]:
        return [part.replace("{url}", url) for part in self.argv]

    def shell_line(self, url: str) -> str:
        line = shlex.join(["hubcli", *self.command(url)])
        if self.background_in_group is not None:
            return f"{line} &"
        if self.stdin is None:
            return line
        text = self.stdin.decode().replace("\n", "\\n")
        return f"printf {shlex.quote(text)} | {line}"


EXAMPLES = (
    Example(
        "Invoke a method; the result is JSON: one line down a pipe, indented at a terminal",
        ("invoke", "{url}", "Echo", '{"a":1}'),
    ),
    Example("Arguments are JSON literals", ("invoke", "{url}", "Add", "2", "40")),
    Example(
        "Stream: one JSON line per item as it arrives", ("stream", "{url}", "Counter", "5", "100")
    ),
    Example(
        "Take the first 3 items of an endless stream, then cancel it",
        ("stream", "-n", "3", "{url}", "Forever", "50"),
    ),
    Example(
        "A stream over MessagePack: the same JSON lines on stdout",
        ("stream", "-p", "messagepack", "{url}", "TriggerStream", "3"),
    ),
    Example(
        "Upload: each stdin line is an item of the client-to-server stream",
        ("upload", "{url}", "UploadSummary"),
        stdin=b"alpha\nbeta\ngamma\n",
    ),
    Example(
        "Listen: join a group, then print what the hub sends this client",
        ("listen", "-n", "2", "{url}", "ReceiveMessage", "--call", "JoinGroup demo"),
        background_in_group="demo",
    ),
    Example(
        "Meanwhile, another client sends to that group (the listener prints it)",
        ("send", "{url}", "SendToGroup", "demo", "hello, group"),
    ),
    Example(
        "A hub error: its text on stderr, exit status 3",
        ("invoke", "{url}", "ThrowHubException", "out of coffee"),
        expected_status=ExitCode.HUB_ERROR,
    ),
)


# How long a background example may take to join its group, and then to end.
BACKGROUND_TIMEOUT = 10.0


def _has_members(hub: HubApp, group: str) -> bool:
    return bool(hub.state.groups.members(group))


def _hubcli() -> list[str]:
    # The same interpreter and package as this process, whatever PATH holds.
    return [sys.executable, "-m", "hubcli"]


class _StdoutGone(Exception):
    """The reader of our stdout went away (`hubcli demo | head`)."""


class _HubNotStarted(Exception):
    """The built-in hub could not listen (its OSError is the cause)."""


def _silence_stdout() -> None:
    # Keeps the interpreter's final flush from complaining about what it holds.
    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != 1:
        os.dup2(devnull, 1)
        os.close(devnull)


def _say(text: str) -> None:
    try:
        print(text, flush=True)
    except (BrokenPipeError, ConnectionResetError):
        # Nothing more can be shown; stop quietly, as `| head` expects.
        _silence_stdout()
        raise _StdoutGone from None
    except OSError as error:  # ENOSPC (/dev/full), EIO: the output, not the hub
        _silence_stdout()
        raise StdoutUnwritable(error.strerror or str(error)) from None


@dataclass
class _Outcome:
    failures: list[str] = field(default_factory=list)
    signal: int | None = None


async def _run_examples(options: ServerOptions) -> _Outcome:
    """Serve the hub and run every example against it, until done or a signal."""
    import trio

    from hubcli.server import serve
    from hubcli.server.app import HubApp

    outcome = _Outcome()
    hub = HubApp(options)
    background: list[tuple[Example, trio.Process]] = []

    def check(example: Example, url: str, status: int) -> None:
        if status != ExitCode.OK:
            _say(f"(exit status {status})")
        if status != example.expected_status:
            outcome.failures.append(
                f"{example.shell_line(url)}: exit status {status}, "
                f"expected {int(example.expected_status)}"
            )

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def stop_on_signal() -> None:
                async for signum in signals:
                    outcome.signal = signum
                    nursery.cancel_scope.cancel()

            nursery.start_soon(stop_on_signal)
            try:
                url: str = await nursery.start(partial(serve, options, app=hub))
            except* OSError as failed:
                raise _HubNotStarted(failed.exceptions[0]) from None
            _say(f"Built-in hub serving on {url}\n")
            for example in EXAMPLES:
                _say(f"# {example.title}\n$ {example.shell_line(url)}")
                # The child writes straight to our stdout and stderr: live, unaltered.
                command = [*_hubcli(), *example.command(url)]
                group = example.background_in_group
                if group is not None:
                    process = await nursery.start(
                        partial(trio.run_process, command, stdin=b"", check=False)
                    )
                    background.append((example, process))
                    joined = await hub.state.wait_until(
                        partial(_has_members, hub, group), BACKGROUND_TIMEOUT
                    )
                    if not joined:
                        outcome.failures.append(f"{example.shell_line(url)}: never joined")
                    continue
                result = await trio.run_process(command, stdin=example.stdin or b"", check=False)
                for earlier, process in background:
                    with trio.move_on_after(BACKGROUND_TIMEOUT):
                        await process.wait()
                    if process.returncode is None:
                        process.kill()
                    check(earlier, url, await process.wait())
                background.clear()
                check(example, url, result.returncode)
                _say("")
            nursery.cancel_scope.cancel()
    return outcome


@app.command(
    "demo",
    help=DEMO_HELP,
    short_help="Run examples of every command against the built-in hub.",
    cls=Command,
    epilog=epilog("demo"),
)
def demo() -> None:
    import trio

    from hubcli.server import ServerOptions

    from .startup import resume_collector

    resume_collector()
    try:
        os.fstat(1)
    except OSError:
        # The examples' output would go nowhere, and each would fail on it.
        closed = StdoutUnwritable("it is closed")
        report(str(closed), closed.hint)
        raise typer.Exit(ExitCode.USAGE) from None
    options = ServerOptions(port=0, stream_delay_ms=100)
    try:
        outcome = trio.run(_run_examples, options)
    except BaseExceptionGroup as group:
        # Nurseries wrap what their tasks raise; the cause is the one leaf.
        leaf = sole_exception(group)
        if isinstance(leaf, _StdoutGone):
            return
        if isinstance(leaf, StdoutUnwritable):
            report(str(leaf), leaf.hint)
            raise typer.Exit(ExitCode.USAGE) from None
        if isinstance(leaf, _HubNotStarted):
            cause = leaf.args[0]
            report(f"cannot start the built-in hub: {cause.strerror or cause}")
            raise typer.Exit(ExitCode.CONNECT_FAILED) from None
        raise
    if outcome.signal is not None:
        stopped = ExitCode.TERMINATED if outcome.signal == signal.SIGTERM else ExitCode.INTERRUPTED
        raise typer.Exit(stopped)
    for failure in outcome.failures:
        report(f"demo example failed: {failure}")
    if outcome.failures:
        raise typer.Exit(ExitCode.INTERNAL_ERROR)
