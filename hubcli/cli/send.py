"""`hubcli send URL METHOD [ARG...]`: fire and forget; exit once the message is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from hubcli._defaults import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_MESSAGE_SIZE

from .arguments import describe_arguments, parse_arguments
from .combinations import check_combinations
from .launch import Body, client_command, launch
from .options import (
    DEFAULT_CONNECT_TIMEOUT,
    ArgsOption,
    CacertOption,
    CertOption,
    ConnectionFlags,
    ConnectionSettings,
    ConnectRetriesOption,
    ConnectTimeoutOption,
    CookieOption,
    HeaderOption,
    HubArgs,
    IdleTimeoutOption,
    InsecureOption,
    KeepaliveOption,
    KeyOption,
    MaxMessageSizeOption,
    MaxTimeOption,
    MethodArg,
    OutputSettings,
    ProtocolName,
    ProtocolOption,
    ProxyOption,
    SkipNegotiationOption,
    StatefulReconnectOption,
    StrictJsonOption,
    TokenFileOption,
    TokenInQueryOption,
    TokenOption,
    TransportOption,
    UrlArg,
    VerboseOption,
    connection_settings,
)

if TYPE_CHECKING:
    from .runner import Session


@client_command("send")
def send_command(
    ctx: typer.Context,
    url: UrlArg,
    method: MethodArg,
    args: HubArgs = None,
    *,
    args_json: ArgsOption = None,
    strict_json: StrictJsonOption = False,
    # The connection options, the same in every client command (ConnectionFlags):
    protocol: ProtocolOption = ProtocolName.json,
    transport: TransportOption = None,
    skip_negotiation: SkipNegotiationOption = False,
    header: HeaderOption = None,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    token_in_query: TokenInQueryOption = False,
    cookie: CookieOption = None,
    cacert: CacertOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    connect_timeout: ConnectTimeoutOption = DEFAULT_CONNECT_TIMEOUT,
    max_time: MaxTimeOption = None,
    idle_timeout: IdleTimeoutOption = None,
    keepalive: KeepaliveOption = DEFAULT_KEEPALIVE_SECONDS,
    max_message_size: MaxMessageSizeOption = DEFAULT_MAX_MESSAGE_SIZE,
    connect_retries: ConnectRetriesOption = 0,
    stateful_reconnect: StatefulReconnectOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Invoke METHOD without waiting for a result (the hub sends none).

    Prints nothing. Exits 0 once the message is handed to the transport, so an
    error the method raises on the hub goes unseen: use invoke to see it.
    """
    flags = ConnectionFlags.of(locals())  # first: the parameters, nothing else yet

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings | None]:
        check_combinations("send", ctx)
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
