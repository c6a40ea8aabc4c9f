"""From a typer command to an exit status, importing the machinery only now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

import typer

from .errors import UsageError, report
from .exit_codes import ExitCode

if TYPE_CHECKING:
    from .options import ConnectionSettings, OutputSettings
    from .runner import Session

Body = Callable[["Session"], Awaitable[None]]


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
