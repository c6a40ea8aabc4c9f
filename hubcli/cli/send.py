"""`hubcli send URL METHOD [ARG...]`: fire and forget; exit once the message is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .arguments import describe_arguments, parse_arguments
from .launch import Body, client_command, launch
from .options import (
    ArgsOption,
    ConnectionFlags,
    ConnectionSettings,
    HubArgs,
    MethodArg,
    OutputSettings,
    StrictJsonOption,
    UrlArg,
    connection_settings,
)

if TYPE_CHECKING:
    from .runner import Session


@client_command("send")
def send_command(
    url: UrlArg,
    method: MethodArg,
    args: HubArgs = None,
    *,
    args_json: ArgsOption = None,
    strict_json: StrictJsonOption = False,
    flags: ConnectionFlags,
) -> None:
    """Invoke METHOD without waiting for a result (the hub sends none).

    Prints nothing. Exits 0 once the message is handed to the transport, so an
    error the method raises on the hub goes unseen: use invoke to see it.
    """

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings | None]:
        settings = connection_settings(url, flags)
        values, _ = parse_arguments(args, args_json, strict=strict_json)

        async def body(session: Session) -> None:
            import logging

            logging.getLogger("hubcli").info("send %s %s", method, describe_arguments(values))
            session.sends(values)
            async with session.connect() as hub:
                await hub.send(method, *values)

        return body, settings, None

    launch(prepare)
