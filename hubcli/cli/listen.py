"""`hubcli listen URL [TARGET...]`: print what the hub invokes on this client."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated

import typer

from hubcli._defaults import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_MESSAGE_SIZE

from .combinations import check_combinations
from .errors import UsageError
from .launch import Body, client_command, launch
from .options import (
    ARGUMENTS,
    CONNECTION,
    DEFAULT_CONNECT_TIMEOUT,
    OUTPUT,
    CacertOption,
    CertOption,
    ColorOption,
    ConnectionFlags,
    ConnectionSettings,
    ConnectRetriesOption,
    ConnectTimeoutOption,
    CookieOption,
    HeaderOption,
    IdleTimeoutOption,
    InsecureOption,
    KeepaliveOption,
    KeyOption,
    MaxMessageSizeOption,
    MaxTimeOption,
    OutputSettings,
    PrettyOption,
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
    finite_seconds,
)
from .replies import DEFAULT_REPLY_TIMEOUT

if TYPE_CHECKING:
    from hubcli.client.reconnect import ReconnectPolicy

    from .runner import Session

REPLIES = "Client results"

TargetArgs = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[TARGET]...",
        help="Print only invocations of these client methods (case-insensitive); "
        "all of them by default.",
        show_default=False,
    ),
]
CallOption = Annotated[
    list[str] | None,
    typer.Option(
        "--call",
        metavar="'METHOD [ARG...]'",
        show_default=False,
        help="Invoke METHOD first (repeatable, in order; words split as a shell "
        "does, each ARG as in invoke), e.g. to join a group. A hub error: exit 3.",
        rich_help_panel=ARGUMENTS,
    ),
]
EventCountOption = Annotated[
    int | None,
    typer.Option(
        "-n",
        "--count",
        min=0,
        metavar="N",
        help="Stop after N events (exit 0).",
        rich_help_panel=OUTPUT,
    ),
]
EventEnvelopeOption = Annotated[
    bool,
    typer.Option(
        "-J",
        "--envelope",
        help='Print typed records: {"type":"event",...}; a client-result request has '
        'an "invocationId".',
        rich_help_panel=OUTPUT,
    ),
]
ReplyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--reply",
        metavar="TARGET=JSON",
        show_default=False,
        help="Answer the hub's client-result requests for TARGET with JSON (repeatable).",
        rich_help_panel=REPLIES,
    ),
]
ReplyExecOption = Annotated[
    list[str] | None,
    typer.Option(
        "--reply-exec",
        metavar="TARGET=COMMAND",
        show_default=False,
        help="Answer each request for TARGET with what COMMAND (run by /bin/sh, the "
        "request's arguments as a JSON array on its stdin) prints as JSON (repeatable).",
        rich_help_panel=REPLIES,
    ),
]
ReplyTimeoutOption = Annotated[
    float,
    typer.Option(
        "--reply-timeout",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="A --reply-exec COMMAND that has not answered by then is killed, and the "
        "hub gets an error (0: none).",
        rich_help_panel=REPLIES,
    ),
]


ReconnectOption = Annotated[
    bool,
    typer.Option(
        "--reconnect",
        help="When the connection is lost, connect again (after 0, 2, 10 and 30 s, "
        "then give up: exit 7) and run the --calls again.",
        rich_help_panel=CONNECTION,
    ),
]
ReconnectDelaysOption = Annotated[
    str | None,
    typer.Option(
        "--reconnect-delays",
        metavar="SECONDS,...|forever",
        show_default=False,
        help="Reconnect with these delays instead (implies --reconnect); 'forever': "
        "backoff up to 30 s with jitter, never giving up.",
        rich_help_panel=CONNECTION,
    ),
]


def reconnect_policy(reconnect: bool, delays: str | None) -> ReconnectPolicy | None:
    """The --reconnect options as a ReconnectPolicy (or None)."""
    from hubcli.client.reconnect import ReconnectPolicy

    if delays is None:
        return ReconnectPolicy() if reconnect else None
    if delays.strip().lower() == "forever":
        return ReconnectPolicy.forever()
    try:
        values = [float(part) for part in delays.split(",")]
        if not all(math.isfinite(value) for value in values):
            raise ValueError
        return ReconnectPolicy.of(values)
    except ValueError:
        raise UsageError(
            f"--reconnect-delays {delays!r} is not a list of seconds",
            hint="e.g. --reconnect-delays 0,1,5 or --reconnect-delays forever",
        ) from None


@client_command(
    "listen", short_help="Print what the hub invokes on this client, one JSON line each."
)
def listen_command(
    ctx: typer.Context,
    url: UrlArg,
    targets: TargetArgs = None,
    *,
    calls: CallOption = None,
    strict_json: StrictJsonOption = False,
    count: EventCountOption = None,
    envelope: EventEnvelopeOption = False,
    replies: ReplyOption = None,
    reply_commands: ReplyExecOption = None,
    reply_timeout: ReplyTimeoutOption = DEFAULT_REPLY_TIMEOUT,
    reconnect: ReconnectOption = False,
    reconnect_delays: ReconnectDelaysOption = None,
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
    """Print each invocation the hub sends this client, as one JSON line:
    {"target":"Name","arguments":[...]}, as it arrives.

    --call runs hub methods first, on the same connection (join a group,
    subscribe); events arriving meanwhile are printed once they succeed. The hub's
    client-result requests are printed too and answered: with --reply or
    --reply-exec for their target, else with "Client didn't provide a result.".
    Ends with -n N events (exit 0), --max-time (124), Ctrl-C (130), a closed
    stdout (0), or the server closing the connection (7), after printing every
    event received. --reconnect connects again when the connection is lost (a
    line on stderr for each step; -J records too) and runs the --calls again.
    """
    flags = ConnectionFlags.of(locals())  # first: the parameters, nothing else yet

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings]:
        from .calls import parse_calls
        from .replies import parse_replies

        check_combinations("listen", ctx)
        settings = connection_settings(url, flags)
        hub_calls = parse_calls(calls, strict=strict_json)
        reply_list = parse_replies(replies, reply_commands, strict=strict_json)
        wanted = tuple(targets or ())
        policy = reconnect_policy(reconnect, reconnect_delays)

        async def body(session: Session) -> None:
            import logging

            from hubcli.client import HubError
            from hubcli.errors import HubcliError

            from .calls import run_calls
            from .events import print_events
            from .replies import reply_handlers

            logging.getLogger("hubcli").info(
                "listen %s", ", ".join(wanted) if wanted else "(every target)"
            )
            handlers = reply_handlers(
                reply_list, reply_timeout or math.inf, session.output.formatter
            )
            async with session.connect(handlers=handlers, reconnect=policy) as hub:
                # Subscribed before the calls: what they make the hub send is kept.
                events = hub.events(*wanted, lifecycle=True)
                try:
                    await run_calls(hub, hub_calls)
                except HubError:
                    raise
                except HubcliError:
                    # The connection ended during a --call: what came first is
                    # still printed before the error is reported.
                    await session.output.events(events.held()[:count])
                    raise
                await print_events(
                    session.output, events, count, after_reconnect=lambda: run_calls(hub, hub_calls)
                )

        return body, settings, OutputSettings(envelope=envelope, pretty=pretty, color=color)

    launch(prepare)
