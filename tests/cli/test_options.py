"""How the client commands declare their options."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest
import typer

from hubcli.cli.app import _register_commands, app
from hubcli.cli.helptext import CLIENT_COMMANDS
from hubcli.cli.options import ConnectionFlags


def _callback(name: str) -> object:
    _register_commands()
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="hubcli")
    command = group.get_command(ctx, name)  # type: ignore[attr-defined]
    return command.callback


@pytest.mark.parametrize("name", CLIENT_COMMANDS)
def test_each_client_command_lists_every_connection_option_itself(name: str) -> None:
    callback = _callback(name)
    # What typer reads is the function as written, not a signature made for it.
    assert "__signature__" not in vars(callback)
    parameters = inspect.signature(callback).parameters
    for flag in fields(ConnectionFlags):
        assert flag.name in parameters, flag.name
        assert parameters[flag.name].default == flag.default, flag.name
