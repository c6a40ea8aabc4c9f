"""The typer application: the one source of truth for hubcli's command line.

Each subcommand lives in its own module and registers itself on `app`; heavy
imports (the server, HTTP machinery) happen inside the commands, not here, so
`hubcli invoke` does not pay for what `hubcli serve` needs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Final

import typer

from hubcli import __version__

from .helptext import Group, epilog
from .startup import collector_paused

ROOT_HELP = """Command-line client for ASP.NET Core SignalR hubs.

Calls hub methods from shells and CI scripts: stdout carries data only, one
compact JSON value per line; a failure is one line on stderr (hubcli: error: ...)
and an exit status that says what went wrong. Options may stand anywhere before
--. 'hubcli COMMAND --help' shows a command's options, examples and exit statuses;
'man hubcli' shows everything."""

app = typer.Typer(
    name="hubcli",
    help=ROOT_HELP,
    epilog=epilog(),
    cls=Group,
    no_args_is_help=True,
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
COMMAND_MODULES: Final = ("invoke", "send", "stream", "upload", "listen", "serve", "demo")


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


def _raised_by_echo(error: BaseException) -> bool:
    """Whether `error` came from click's echo, which writes typer's help and
    hubcli's --version to stdout: no command was running."""
    from traceback import walk_tb

    return any(
        frame.f_code.co_name == "echo" and "_click" in frame.f_code.co_filename
        for frame, _ in walk_tb(error.__traceback__)
    )


def _run_app() -> None:
    _register_commands(sys.argv[1:])
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    from typer._click.utils import PacifyFlushWrapper
    from typer.exceptions import Abort

    from .errors import StdoutUnwritable, report
    from .exit_codes import ExitCode

    try:
        # Not standalone: typer's usage errors are several lines; hubcli's are one.
        status = app(prog_name="hubcli", standalone_mode=False)
    except NoArgsIsHelpError as error:
        # A bare `hubcli` asks for help rather than fails, but no command ran: the
        # help goes to stderr with the usage status, as jq and grpcurl do.
        sys.stderr.write(error.ctx.get_help() + "\n" if error.ctx else ROOT_HELP + "\n")
        sys.exit(ExitCode.USAGE)
    except UsageError as error:
        command = error.ctx.command_path if error.ctx is not None else "hubcli"
        report(_as_clause(error.format_message()), f"see '{command} --help'")
        sys.exit(error.exit_code)
    except ClickException as error:
        report(_as_clause(error.format_message()))
        sys.exit(error.exit_code)
    except Abort:
        report("aborted")
        sys.exit(ExitCode.INTERNAL_ERROR)
    except SystemExit as exit_:
        # typer ends --help or --version text that met a closed stdout (`| true`)
        # with 1, after wrapping stdout; hubcli's rule for a reader gone is 0.
        if exit_.code == 1 and isinstance(sys.stdout, PacifyFlushWrapper):
            sys.exit(ExitCode.OK)
        raise
    except Exception as error:
        if isinstance(error, OSError) and _raised_by_echo(error):
            # --help or --version text that stdout could not take (a full disk):
            # the same status and line as a command's unwritable stdout.
            unwritable = StdoutUnwritable(error.strerror or str(error))
            report(str(unwritable), unwritable.hint)
            sys.exit(ExitCode.USAGE)
        # Errors of a run are reported inside it (runner.py); this is a bug outside.
        report(f"internal error: {type(error).__name__}: {error}", "a bug: please report it")
        sys.exit(ExitCode.INTERNAL_ERROR)
    sys.exit(status if isinstance(status, int) else 0)
