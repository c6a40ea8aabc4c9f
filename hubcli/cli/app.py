"""The typer application: the one source of truth for hubcli's command line.

Each subcommand lives in its own module and registers itself on `app`; heavy
imports (the server, HTTP machinery) happen inside the commands, not here, so
`hubcli invoke` does not pay for what `hubcli serve` needs.
"""

from __future__ import annotations

import sys

import typer

from hubcli import __version__

from .exit_codes import exit_code_table

app = typer.Typer(
    name="hubcli",
    help="Command-line client for ASP.NET Core SignalR hubs.\n\n"
    "Exit status:\n\n" + exit_code_table().replace("\n", "\n\n"),
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
    """Command-line client for ASP.NET Core SignalR hubs."""


def _register_commands() -> None:
    # Imported for their side effect of adding commands to `app`.
    from . import commands  # noqa: F401


def main() -> None:
    _register_commands()
    try:  # typer >= 0.2x vendors click
        from typer._click.exceptions import ClickException, UsageError
    except ImportError:  # pragma: no cover - older typer on real click
        from click.exceptions import (  # type: ignore[import-not-found,no-redef]
            ClickException,
            UsageError,
        )

    from .errors import report

    try:
        # Not standalone: typer's usage errors are several lines; hubcli's are one.
        status = app(standalone_mode=False)
    except UsageError as error:
        command = error.ctx.command_path if error.ctx is not None else "hubcli"
        report(error.format_message(), f"see '{command} --help'")
        sys.exit(error.exit_code)
    except ClickException as error:
        report(error.format_message())
        sys.exit(error.exit_code)
    sys.exit(status if isinstance(status, int) else 0)
