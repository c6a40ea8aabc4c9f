"""`hubcli invoke URL METHOD [ARG...]`: print the completion's result as one JSON line."""

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
    ColorOption,
    ConnectionFlags,
    ConnectionSettings,
    ConnectRetriesOption,
    ConnectTimeoutOption,
    CookieOption,
    EnvelopeOption,
    HeaderOption,
    HubArgs,
    IdleTimeoutOption,
    InsecureOption,
    KeepaliveOption,
    KeyOption,
    MaxMessageSizeOption,
    MaxTimeOption,
    MethodArg,
    OnOption,
    OutputSettings,
    PrettyOption,
    ProtocolName,
    ProtocolOption,
    ProxyOption,
    RawOption,
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
    from hubcli.protocol.messages import Completion

    from .output import Output
    from .runner import Session


async def print_result(output: Output, completion: Completion) -> None:
    """Print what the hub answered (nothing for no result); its error then ends the
    command as a HubError (exit 3), after the envelope record under -J."""
    from hubcli.client import HubError
    from hubcli.protocol.messages import CompletionKind

    await output.completion(completion.kind, completion.result, completion.error)
    if completion.kind is CompletionKind.ERROR:
        raise HubError(completion.error)


@client_command("invoke")
def invoke_command(
    ctx: typer.Context,
    url: UrlArg,
    method: MethodArg,
    args: HubArgs = None,
    *,
    args_json: ArgsOption = None,
    strict_json: StrictJsonOption = False,
    raw: RawOption = False,
    envelope: EnvelopeOption = False,
    on: OnOption = None,
    pretty: PrettyOption = None,
    color: ColorOption = None,
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
    """Call METHOD and print its result as one JSON line.

    A null result prints null, and so does a void method of an ASP.NET Core
    hub, which answers it with a null result; only a completion without any
    result prints nothing (-J tells them apart). An error the hub reports goes
    to stderr as one line, exit status 3. --on TARGET also prints
    the hub's invocations of TARGET that arrive during the call (progress the
    method pushes), each as a line before the result.
    """
    flags = ConnectionFlags.of(locals())  # first: the parameters, nothing else yet

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings]:
        check_combinations("invoke", ctx)
        settings = connection_settings(url, flags)
        values, _ = parse_arguments(args, args_json, strict=strict_json)

        async def body(session: Session) -> None:
            import logging

            from .events import targets_of, with_events_beside

            logging.getLogger("hubcli").info("invoke %s %s", method, describe_arguments(values))
            session.sends(values)
            shown = targets_of(on)
            async with session.connect() as hub:
                events = None if shown is None else hub.events(*shown)
                completion = await with_events_beside(
                    session.output, events, lambda: hub.invoke_completion(method, *values)
                )
            await print_result(session.output, completion)

        return (
            body,
            settings,
            OutputSettings(raw=raw, envelope=envelope, pretty=pretty, color=color),
        )

    launch(prepare)
