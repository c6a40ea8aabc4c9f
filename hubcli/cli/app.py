"""The typer application: the one source of truth for hubcli's command line.

Each subcommand lives in its own module and registers itself on `app`; heavy
imports (the server, HTTP machinery) happen inside the commands, not here, so
`hubcli invoke` does not pay for what `hubcli serve` needs.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Final, Protocol, cast

import typer

from hubcli import __version__

from .helptext import Group, epilog
from .startup import collector_paused

ROOT_HELP = """Command-line client for ASP.NET Core SignalR hubs.

Calls hub methods from shells and CI scripts: stdout carries data only, one
compact JSON value per line; a failure is one line on stderr (hubcli: error: ...)
and an exit status that says what went wrong. Options may stand anywhere before
--. 'hubcli COMMAND --help' shows a command's options, examples and exit statuses;
'man hubcli' shows everything. Every SECONDS option takes a decimal number; 0
means no limit (as in curl)."""

app = typer.Typer(
    name="hubcli",
    help=ROOT_HELP,
    epilog=epilog(),
    cls=Group,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"hubcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Command-line client for ASP.NET Core SignalR hubs."""  # ROOT_HELP is what --help shows


# In the order --help lists them: the client commands, then the built-in hub's.
COMMAND_MODULES: Final = (
    "invoke",
    "send",
    "stream",
    "upload",
    "listen",
    "session",
    "bench",
    "serve",
    "demo",
)


def _register_commands(argv: Sequence[str] | None = None) -> None:
    """Import the command modules, which add their commands to `app`.

    When the command line starts with a command's name, only that command's
    module: building the others would cost a cold `hubcli invoke` several
    milliseconds. Anything else (help, --version, a misspelt name) gets them all,
    so `hubcli -h invoke` still lists every command.
    """
    first = argv[0] if argv else None
    for module in (first,) if first in COMMAND_MODULES else COMMAND_MODULES:
        import_module(f"{__package__}.{module}")


def _as_clause(message: str) -> str:
    """click's "Missing argument 'URL'." in the style of hubcli's own messages."""
    message = message.strip().removesuffix(".")
    if message[:2].istitle():
        message = message[0].lower() + message[1:]
    return message


def main() -> None:
    """The `hubcli` program."""
    with collector_paused():
        _run_app()


class _ClickError(Protocol):
    """What click's exceptions share (ClickException's documented interface).

    typer exports only BadParameter among them, and re-raises them all from
    `app(standalone_mode=False)`: every one is about the command line (an unknown
    option, a missing argument, a value of the wrong type)."""

    exit_code: int

    def format_message(self) -> str: ...


def _as_click_error(error: BaseException) -> _ClickError | None:
    if isinstance(getattr(error, "exit_code", None), int) and callable(
        getattr(error, "format_message", None)
    ):
        return cast(_ClickError, error)
    return None


def _print_root_help() -> None:
    """A bare `hubcli` asks for help rather than fails, but no command ran: the
    help goes to stderr with the usage status, as jq and grpcurl do."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="hubcli", **group.context_settings)
    sys.stderr.write(group.get_help(ctx) + "\n")


def _point_stdout_at_devnull() -> None:
    # What stdout could not take stays buffered; the interpreter's flush at exit
    # would fail on it again, with a second message.
    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != 1:  # 1 itself when stdout was closed
        os.dup2(devnull, 1)
        os.close(devnull)


def _utf8_argv(argv: list[str]) -> list[str]:
    """The command line as UTF-8 text, whatever the locale: Python decodes argv
    with the locale's encoding, so under LC_ALL=C (without UTF-8 mode) an 'é'
    became two lone surrogates, and went to the hub as such."""
    return [os.fsencode(word).decode("utf-8", "surrogateescape") for word in argv]


def _not_utf8(argv: list[str]) -> int | None:
    """The position of the first word that is not UTF-8 (bytes Python kept as
    lone surrogates), if any."""
    for position, word in enumerate(argv[1:], start=1):
        if any("\udc80" <= char <= "\udcff" for char in word):
            return position
    return None


def _run_app() -> None:
    from .errors import StdoutUnwritable, report
    from .exit_codes import ExitCode

    sys.argv = _utf8_argv(sys.argv)
    position = _not_utf8(sys.argv)
    if position is not None:
        report(f"word {position} of the command line is not UTF-8 text")
        sys.exit(ExitCode.USAGE)
    _register_commands(sys.argv[1:])
    from .stdout_text import TextStdout

    if not sys.argv[1:]:
        _print_root_help()
        sys.exit(ExitCode.USAGE)
    stdout = TextStdout(sys.stdout)
    sys.stdout = stdout
    try:
        # Not standalone: typer's usage errors are several lines; hubcli's are one.
        status = app(prog_name="hubcli", standalone_mode=False)
    except typer.Abort:
        # typer's answer to EOF at a prompt; hubcli has no prompts.
        report("aborted")
        sys.exit(ExitCode.USAGE)
    except SystemExit:
        failure = stdout.failure
        if failure is not None and failure.errno == errno.EPIPE:
            # typer ends --help or --version text that met a closed pipe (`| true`)
            # with 1; hubcli's rule for a reader gone is 0.
            _point_stdout_at_devnull()
            sys.exit(ExitCode.OK)
        raise
    except Exception as error:
        if error is stdout.failure:
            # --help, --version or --list-methods text that stdout could not take:
            # the same status and line as a command's unwritable stdout.
            _point_stdout_at_devnull()
            unwritable = StdoutUnwritable(stdout.failure.strerror or str(error))
            report(str(unwritable), unwritable.hint)
            sys.exit(ExitCode.USAGE)
        click_error = _as_click_error(error)
        if click_error is not None:
            context = getattr(error, "ctx", None)
            command = getattr(context, "command_path", None) or "hubcli"
            report(_as_clause(click_error.format_message()), f"see '{command} --help'")
            sys.exit(ExitCode.USAGE)
        # Errors of a run are reported inside it (runner.py); this is a bug outside.
        report(f"internal error: {type(error).__name__}: {error}", "a bug: please report it")
        sys.exit(ExitCode.INTERNAL_ERROR)
    sys.exit(status if isinstance(status, int) else 0)
