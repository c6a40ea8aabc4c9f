"""From a typer command to an exit status, importing the machinery only now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

import typer

from .app import app
from .errors import UsageError, report
from .exit_codes import ExitCode
from .helptext import Command, epilog

if TYPE_CHECKING:
    from .options import ConnectionSettings, OutputSettings
    from .runner import Session

Body = Callable[["Session"], Awaitable[None]]
Handler = Callable[..., None]


def client_command(name: str, short_help: str | None = None) -> Callable[[Handler], Handler]:
    """Register a command that calls a hub, with hubcli's help layout and examples."""

    def register(handler: Handler) -> Handler:
        app.command(name, short_help=short_help, cls=Command, epilog=epilog(name))(handler)
        return handler

    return register


def launch(
    prepare: Callable[[], tuple[Body, ConnectionSettings, OutputSettings | None]],
) -> NoReturn:
    """Check the command line (`prepare`), then run the body it returns and exit."""
    try:
        body, settings, output = prepare()
    except UsageError as error:
        report(str(error), error.hint)
        raise typer.Exit(ExitCode.USAGE) from None
    from .runner import run_command
    from .startup import resume_collector

    resume_collector()
    raise typer.Exit(run_command(body, settings, output))
