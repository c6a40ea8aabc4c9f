"""`hubcli demo`: the whole tool at work against the built-in hub, on a fresh machine.

The hub runs in this process; each example is the real `hubcli` in a child process,
so what the demo prints is exactly what a user typing the shown line would see.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from .app import app
from .exit_codes import ExitCode
from .helptext import Command, epilog

if TYPE_CHECKING:
    from hubcli.server import ServerOptions

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

    def command(self, url: str) -> list[str]:
        return [part.replace("{url}", url) for part in self.argv]

    def shell_line(self, url: str) -> str:
        line = shlex.join(["hubcli", *self.command(url)])
        if self.stdin is None:
            return line
        text = self.stdin.decode().replace("\n", "\\n")
        return f"printf {shlex.quote(text)} | {line}"


EXAMPLES = (
    Example("Invoke a method; the result is one JSON line", ("invoke", "{url}", "Echo", '{"a":1}')),
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
        "A hub error: its text on stderr, exit status 3",
        ("invoke", "{url}", "ThrowHubException", "out of coffee"),
        expected_status=ExitCode.HUB_ERROR,
    ),
)


def _hubcli() -> list[str]:
    # The same interpreter and package as this process, whatever PATH holds.
    return [sys.executable, "-m", "hubcli"]


async def _run_examples(options: ServerOptions) -> list[str]:
    """Serve the hub, run every example against it; the examples that went wrong."""
    import trio

    from hubcli.server import serve

    failures: list[str] = []
    async with trio.open_nursery() as nursery:
        url: str = await nursery.start(serve, options)
        print(f"Built-in hub serving on {url}\n", flush=True)
        for example in EXAMPLES:
            print(f"# {example.title}\n$ {example.shell_line(url)}", flush=True)
            # The child writes straight to our stdout and stderr: live, unaltered.
            result = await trio.run_process(
                [*_hubcli(), *example.command(url)],
                stdin=example.stdin or b"",
                check=False,
            )
            if result.returncode != ExitCode.OK:
                print(f"(exit status {result.returncode})", flush=True)
            if result.returncode != example.expected_status:
                failures.append(
                    f"{example.shell_line(url)}: exit status {result.returncode}, "
                    f"expected {int(example.expected_status)}"
                )
            print(flush=True)
        nursery.cancel_scope.cancel()
    return failures


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

    options = ServerOptions(port=0, stream_delay_ms=100)
    try:
        failures = trio.run(_run_examples, options)
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except OSError as error:
        typer.echo(f"hubcli: error: cannot start the built-in hub: {error}", err=True)
        raise typer.Exit(ExitCode.CONNECT_FAILED) from None
    for failure in failures:
        typer.echo(f"hubcli: error: demo example failed: {failure}", err=True)
    if failures:
        raise typer.Exit(ExitCode.INTERNAL_ERROR)
