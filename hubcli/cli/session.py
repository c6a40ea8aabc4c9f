"""`hubcli session URL`: many calls on one connection, driven line by line.

With stdin not a terminal, a JSON-lines protocol for programs (session_engine.py,
session_requests.py; its schema: hubcli/schemas/session-v1.json). At a terminal, an
interactive shell whose typed commands become requests of that protocol
(session_shell.py; prompt_toolkit, the `shell` extra).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Final

import typer

from hubcli._defaults import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_MESSAGE_SIZE

from .combinations import check_combinations
from .errors import UsageError, report
from .exit_codes import ExitCode
from .launch import Body, client_command, launch
from .listen import ReconnectDelaysOption, ReconnectOption, reconnect_policy
from .options import (
    ARGUMENTS,
    DEFAULT_CONNECT_TIMEOUT,
    OUTPUT,
    CacertOption,
    CertOption,
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
    ProtocolName,
    ProtocolOption,
    ProxyOption,
    SkipNegotiationOption,
    StatefulReconnectOption,
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

SessionOnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--on",
        metavar="TARGET",
        show_default=False,
        help="Print the hub's invocations of client method TARGET ('*': any) from the "
        'start, as an {"on": TARGET} request would (repeatable).',
        rich_help_panel=OUTPUT,
    ),
]
NoWaitOption = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="At the end of stdin, cancel the calls in flight instead of waiting for them.",
        rich_help_panel=ARGUMENTS,
    ),
]
MethodsOption = Annotated[
    str | None,
    typer.Option(
        "--methods",
        metavar="FILE",
        show_default=False,
        help="At a terminal: hub method names to complete with Tab, one a line ('#' "
        "starts a comment); SignalR cannot list a hub's methods.",
        rich_help_panel=ARGUMENTS,
    ),
]
SessionColorOption = Annotated[
    bool | None,
    typer.Option(
        "--color/--no-color",
        show_default=False,
        help="At a terminal: colour the shell's JSON, or not (default: colour, but "
        "never with NO_COLOR or TERM=dumb set). Records for programs never are.",
        rich_help_panel=OUTPUT,
    ),
]
SHELL_EXTRA: Final = "pip install 'hubcli[shell]'"


@client_command(
    "session",
    short_help="Many calls on one connection: a shell, or JSON lines for programs.",
)
def session_command(
    ctx: typer.Context,
    url: UrlArg,
    *,
    on: SessionOnOption = None,
    no_wait: NoWaitOption = False,
    reconnect: ReconnectOption = False,
    reconnect_delays: ReconnectDelaysOption = None,
    methods: MethodsOption = None,
    color: SessionColorOption = None,
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
    """Read one JSON request per stdin line and write one JSON record per stdout
    line, all on one connection, several calls in flight at once.

    Requests: {"id":1,"invoke":"Add","args":[1,2]}, {"id":2,"send":M,"args":[]},
    {"id":3,"stream":"Counter","args":[5,100]}, {"cancel":3},
    {"id":4,"upload":M,"args":[]} then {"id":4,"item":V} or {"id":4,"items":[...]}
    lines and {"id":4,"end":true} ("position": N puts the stream among the args,
    "streamBack": true prints the items M streams back), {"on":TARGET},
    {"off":TARGET}, {"reply":TARGET,"result":V} (or "error":TEXT). An id is a
    string or an integer; on, off, reply and cancel take one optionally, to get
    {"id":ID,"done":true} back.

    Records: {"id":ID,"result":V} (an invoke's result), {"id":ID,"void":true} (a
    method without a result), {"id":ID,"item":V}, {"id":ID,"done":true} (a stream
    or send finished), {"id":ID,"cancelled":true},
    {"id":ID,"error":TEXT,"exit":N} (N: the exit status the call would have had
    alone, a hub error 3, the connection lost 7), {"line":N,"error":TEXT,"exit":2}
    (a bad request line, the session goes on), pushes as listen prints them,
    {"target":T,"arguments":[...]}, and with --reconnect {"reconnecting":TEXT} and
    {"reconnected":ID}.

    At the end of stdin the calls in flight are waited for (--no-wait: cancelled),
    then the connection closed: exit 0. The connection lost: an error record for
    each call in flight, then exit 7 (--reconnect: connect again and go on).

    At a terminal (stdin a terminal), an interactive shell on the connection
    (the shell extra: pip install 'hubcli[shell]'). Commands: invoke METHOD
    [ARG...], send ..., stream ..., call ... (invoke, waiting for it), upload
    [--stream] [--json] METHOD [ARG...] (then the items, one a line, strings
    unless --json; an empty line or Ctrl-D ends them; @stdin among the ARGs:
    where the stream goes), cancel [ID], on TARGET, off TARGET, reply TARGET
    VALUE; /help, /verbose (the raw frames), /close (after the calls in flight),
    /quit. Each ARG is JSON, typed as it is ({"a": 1} is one object), or else a
    word read as a shell reads it, a string.
    Results, stream items and pushes are printed above the prompt as they come;
    Ctrl-C cancels the latest call in flight, Ctrl-D closes. History:
    $XDG_STATE_HOME/hubcli/history (~/.local/state/hubcli/history), mode 0600;
    Ctrl+R searches it, Tab completes commands and method names (--methods).
    """
    flags = ConnectionFlags.of(locals())  # first: the parameters, nothing else yet
    if os.isatty(0):
        raise typer.Exit(
            _shell(
                ctx,
                url,
                flags,
                on=on,
                methods=methods,
                color=color,
                reconnect=reconnect,
                reconnect_delays=reconnect_delays,
            )
        )

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings]:
        check_combinations("session", ctx)
        settings = connection_settings(url, flags)
        policy = reconnect_policy(reconnect, reconnect_delays)
        from .stdin import check_stdin

        check_stdin()

        async def body(session: Session) -> None:
            from .session_engine import SessionEngine, read_lines

            async with session.connect(reconnect=policy) as hub:
                engine = SessionEngine(
                    hub,
                    session.output.writer.write,
                    session.output.formatter.json,
                    watched=tuple(on or ()),
                    wait=not no_wait,
                    line_limit=settings.max_message_size,
                )
                await engine.run(read_lines(0, settings.max_message_size))

        return body, settings, OutputSettings()

    launch(prepare)


def _shell(
    ctx: typer.Context,
    url: str,
    flags: ConnectionFlags,
    *,
    on: list[str] | None,
    methods: str | None,
    color: bool | None,
    reconnect: bool,
    reconnect_delays: str | None,
) -> int:
    """The interactive shell, with stdin a terminal; its exit status."""
    try:
        check_combinations("session", ctx)
        settings = connection_settings(url, flags)
        policy = reconnect_policy(reconnect, reconnect_delays)
        try:
            from . import session_shell
        except ImportError as error:
            if error.name is None or not error.name.startswith("prompt_toolkit"):
                raise
            raise UsageError(
                "the interactive shell needs prompt_toolkit, which is not installed",
                hint=f"{SHELL_EXTRA}; or give requests on stdin, e.g. < calls.jsonl",
            ) from None
        names = session_shell.read_methods(methods)
    except UsageError as error:
        report(str(error), error.hint)
        return int(ExitCode.USAGE)
    from .pretty import choose_style
    from .startup import resume_collector

    resume_collector()
    style = choose_style(pretty=True, color=color, isatty=os.isatty(1), environ=os.environ)
    return session_shell.run_shell(settings, policy, tuple(on or ()), names, style)
