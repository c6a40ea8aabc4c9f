"""`hubcli upload URL METHOD [ARG...]`: stdin as a client-to-server stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hubcli._defaults import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_MESSAGE_SIZE

from .arguments import STDIN_PLACEHOLDER, describe_arguments, parse_arguments
from .combinations import check_combinations
from .invoke import print_result
from .launch import Body, client_command, launch
from .options import (
    ARGUMENTS,
    DEFAULT_CONNECT_TIMEOUT,
    OUTPUT,
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
from .progress import QuietOption, counting_sent, progress_line, wanted
from .stream import print_stream

if TYPE_CHECKING:
    from .runner import Session

JsonLinesOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Parse each stdin line as JSON (blank lines skipped; an invalid one is exit 2).",
        rich_help_panel=ARGUMENTS,
    ),
]
NullOption = Annotated[
    bool,
    typer.Option(
        "-0",
        "--null",
        help="stdin records end at NUL bytes, not newlines.",
        rich_help_panel=ARGUMENTS,
    ),
]
StreamBackOption = Annotated[
    bool,
    typer.Option(
        "--stream",
        help="The method streams back: print its items as they arrive.",
        rich_help_panel=OUTPUT,
    ),
]


@client_command("upload", short_help="Send stdin to METHOD as a stream, one item per line.")
def upload_command(
    ctx: typer.Context,
    url: UrlArg,
    method: MethodArg,
    args: HubArgs = None,
    *,
    args_json: ArgsOption = None,
    strict_json: StrictJsonOption = False,
    json_lines: JsonLinesOption = False,
    null: NullOption = False,
    stream_back: StreamBackOption = False,
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
    """Send stdin to METHOD as a stream, one item per line; print the result.

    The stream goes last among the hub arguments, or where a literal @stdin
    stands. Lines end at \\n (a trailing \\r is dropped) and go as strings; a
    blank line is an empty string. --json parses each line as JSON, -0 splits
    at NUL bytes. Invalid UTF-8 or JSON, or a record longer than
    --max-message-size (16 MiB unless set), stops the upload: exit 2, naming the
    line. When stderr is a terminal, a progress line (items sent, rate,
    elapsed) stands on stderr; -q turns it off. --on TARGET also prints the
    hub's invocations of TARGET that arrive during the upload.
    """
    flags = ConnectionFlags.of(locals())  # first: the parameters, nothing else yet

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings]:
        check_combinations("upload", ctx)
        settings = connection_settings(url, flags)
        values, position = parse_arguments(args, args_json, strict=strict_json, upload=True)
        from .stdin import check_stdin

        check_stdin()

        async def body(session: Session) -> None:
            import logging

            from hubcli.client import ItemBatches

            from .stdin import RecordDecoder, read_records

            shown = [*values[:position], STDIN_PLACEHOLDER, *values[position:]]
            logging.getLogger("hubcli").info("upload %s %s", method, describe_arguments(shown))
            session.sends(values)
            decoder = RecordDecoder(
                json_mode=json_lines, null_separated=null, limit=settings.max_message_size
            )
            session.sends_sized(lambda: decoder.largest)
            from .events import targets_of, with_events_beside

            drawn = wanted(quiet=quiet, verbosity=flags.verbose, output_on_stdout=stream_back)
            targets = targets_of(on)
            async with session.connect() as hub:
                events = None if targets is None else hub.events(*targets)
                with progress_line(drawn) as progress:
                    source = ItemBatches(counting_sent(read_records(decoder), progress))
                    call_args = [*values[:position], source, *values[position:]]
                    if stream_back:
                        call = hub.stream(method, *call_args)
                        await with_events_beside(
                            session.output,
                            events,
                            lambda: print_stream(session.output, call, count, progress),
                        )
                        return
                    completion = await with_events_beside(
                        session.output,
                        events,
                        lambda: hub.invoke_completion(method, *call_args),
                    )
                await print_result(session.output, completion)

        return (
            body,
            settings,
            OutputSettings(raw=raw, envelope=envelope, pretty=pretty, color=color),
        )

    launch(prepare)
