"""`hubcli stream URL METHOD [ARG...]`: print each stream item as one JSON line."""

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
    CountOption,
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
from .progress import QuietOption, progress_line, wanted

if TYPE_CHECKING:
    from hubcli.client import StreamCall

    from .output import Output
    from .progress import Progress
    from .runner import Session


async def print_stream(
    output: Output, stream: StreamCall, count: int | None, progress: Progress | None = None
) -> None:
    """Write the stream to stdout a received frame at a time; stop after `count` items.

    Leaving early (count reached, a signal, stdout closed) cancels the stream on the
    server on the way out of `async with`.
    """
    from hubcli.client import HubError
    from hubcli.protocol.messages import CompletionKind

    async with stream:
        remaining = count
        try:
            if remaining == 0:
                return
            async for batch in stream.batches():
                if progress is not None:
                    progress.add_received(len(batch))
                if remaining is not None:
                    if len(batch) >= remaining:
                        await output.items(batch[:remaining])
                        return
                    remaining -= len(batch)
                await output.items(batch)
        except HubError as error:
            if output.formatter.envelope:
                await output.completion(CompletionKind.ERROR, None, str(error))
            raise
    if output.formatter.envelope:
        await output.completion(CompletionKind.VOID, None, None)


@client_command("stream", short_help="Call a streaming METHOD; print each item as one JSON line.")
def stream_command(
    ctx: typer.Context,
    url: UrlArg,
    method: MethodArg,
    args: HubArgs = None,
    *,
    args_json: ArgsOption = None,
    strict_json: StrictJsonOption = False,
    count: CountOption = None,
    raw: RawOption = False,
    envelope: EnvelopeOption = False,
    quiet: QuietOption = False,
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
    """Call a streaming METHOD and print each item as one JSON line as it arrives.

    -n N stops after N items and cancels the stream on the hub, as do Ctrl-C,
    --max-time and a reader that closes stdout (| head: exit status 0). A hub
    error after some items: those items, then the error on stderr, exit 3.
    When stderr is a terminal and stdout is not, a progress line (items, rate,
    elapsed) stands on stderr; -q turns it off. --on TARGET also prints the hub's
    invocations of TARGET that arrive meanwhile, between the items.
    """
    flags = ConnectionFlags.of(locals())  # first: the parameters, nothing else yet

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings]:
        check_combinations("stream", ctx)
        settings = connection_settings(url, flags)
        values, _ = parse_arguments(args, args_json, strict=strict_json)

        async def body(session: Session) -> None:
            import logging

            logging.getLogger("hubcli").info("stream %s %s", method, describe_arguments(values))
            session.sends(values)
            from .events import targets_of, with_events_beside

            shown = wanted(quiet=quiet, verbosity=flags.verbose, output_on_stdout=True)
            targets = targets_of(on)
            async with session.connect() as hub:
                events = None if targets is None else hub.events(*targets)
                with progress_line(shown) as progress:
                    call = hub.stream(method, *values)
                    await with_events_beside(
                        session.output,
                        events,
                        lambda: print_stream(session.output, call, count, progress),
                    )

        return (
            body,
            settings,
            OutputSettings(raw=raw, envelope=envelope, pretty=pretty, color=color),
        )

    launch(prepare)
