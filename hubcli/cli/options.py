"""Options shared by the client commands, declared once, and what they turn into.

Kept light on purpose (typer only): every command module imports this at start-up,
and the connection machinery is imported only once a command runs.
"""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from hubcli._defaults import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_MESSAGE_SIZE
from hubcli.protocol.negotiate import TRANSPORT_WORDS, transport_named, transport_word

from .errors import UsageError

if TYPE_CHECKING:
    from hubcli.client.network import NetworkSettings

DEFAULT_CONNECT_TIMEOUT: Final = 30.0

# The sections of a command's --help, for rich_help_panel (helptext.Command).
ARGUMENTS: Final = "Hub arguments"
OUTPUT: Final = "Output"
CONNECTION: Final = "Connection"
HTTP: Final = "HTTP and TLS"
LIMITS: Final = "Limits"


class ProtocolName(enum.StrEnum):
    json = "json"
    messagepack = "messagepack"


# Every choice is case-insensitive (-p MessagePack, -t SSE); a transport may also
# go by its name in negotiate and the official clients (HttpTransportType): the
# protocol core's transport_named() reads them all.
TRANSPORT_FLAG_NAMES: Final = ("auto", *TRANSPORT_WORDS)


def transport_words(value: str) -> list[str]:
    """The comma-separated transport words of `value`, each as the command line
    shows it ("auto" kept); UsageError naming the first it does not know."""
    words: list[str] = []
    for part in value.split(","):
        word = part.strip().lower()
        if not word:
            continue
        named = transport_named(word)
        if named is None and word != "auto":
            raise UsageError(
                f"unknown transport {word!r}", hint=f"use -t {'|'.join(TRANSPORT_FLAG_NAMES)}"
            )
        words.append("auto" if named is None else transport_word(named))
    return words


def finite_seconds(value: float | None) -> float | None:
    """Callback of every SECONDS option: click's range check lets nan through
    (every comparison with it is false) and inf passes a lower bound; trio then
    refuses a nan deadline half-way through, and inf is no time limit at all.
    That is what 0 means for every SECONDS option, as in curl (ROOT_HELP says so)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number of seconds")
    return value


UrlArg = Annotated[
    str,
    typer.Argument(
        metavar="URL", help="Hub URL, e.g. http://127.0.0.1:5000/hub.", show_default=False
    ),
]


def method_name(value: str) -> str:
    """Callback of METHOD: no hub has a method without a name."""
    if not value.strip():
        raise typer.BadParameter("the method name is empty")
    return value


MethodArg = Annotated[
    str,
    typer.Argument(
        metavar="METHOD", help="Hub method name.", show_default=False, callback=method_name
    ),
]
HubArgs = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="ARG...",
        help="Hub arguments, each a JSON literal (10, true, '\"10\"', '{\"a\":1}'); text "
        "that is not JSON is sent as a string. ARGs starting with - go after --.",
        show_default=False,
    ),
]
ArgsOption = Annotated[
    str | None,
    typer.Option(
        "--args",
        metavar="JSON|@FILE|@-",
        help="The whole argument array, verbatim (instead of ARGs; a FILE or stdin of up "
        "to 16 MiB).",
        rich_help_panel=ARGUMENTS,
    ),
]
StrictJsonOption = Annotated[
    bool,
    typer.Option(
        "--strict-json",
        help="An ARG that is not valid JSON is a usage error (instead of a string).",
        rich_help_panel=ARGUMENTS,
    ),
]
RawOption = Annotated[
    bool,
    typer.Option("-r", "--raw", help="Print string values without quotes.", rich_help_panel=OUTPUT),
]
EnvelopeOption = Annotated[
    bool,
    typer.Option(
        "-J",
        "--envelope",
        help='Print typed records: {"type":"item",...}, {"type":"completion",...}.',
        rich_help_panel=OUTPUT,
    ),
]
PrettyOption = Annotated[
    bool | None,
    typer.Option(
        "--pretty/--compact",
        show_default=False,
        help="Indent each JSON value over several lines, or print it on one line "
        "(default: indented when stdout is a terminal, else one value a line).",
        rich_help_panel=OUTPUT,
    ),
]
ColorOption = Annotated[
    bool | None,
    typer.Option(
        "--color/--no-color",
        show_default=False,
        help="Colour the JSON, as jq does, or not (default: when stdout is a terminal; "
        "never with NO_COLOR or TERM=dumb set).",
        rich_help_panel=OUTPUT,
    ),
]
OnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--on",
        metavar="TARGET",
        show_default=False,
        help="Also print the hub's invocations of client method TARGET ('*': any) that "
        "arrive during the call, as listen does (repeatable).",
        rich_help_panel=OUTPUT,
    ),
]
CountOption = Annotated[
    int | None,
    typer.Option(
        "-n",
        "--count",
        min=0,
        metavar="N",
        help="Take N items, then cancel the stream and exit 0.",
        rich_help_panel=OUTPUT,
    ),
]
ProtocolOption = Annotated[
    ProtocolName,
    typer.Option(
        "-p", "--protocol", case_sensitive=False, help="Hub protocol.", rich_help_panel=CONNECTION
    ),
]
TransportOption = Annotated[
    list[str] | None,
    typer.Option(
        "-t",
        "--transport",
        metavar="auto|websockets|sse|longpolling",
        show_default=False,
        help="Transports allowed, repeatable or comma-separated (default auto: each the "
        "server offers, in its order, falling back to the next if one fails to start).",
        rich_help_panel=CONNECTION,
    ),
]
SkipNegotiationOption = Annotated[
    bool,
    typer.Option(
        "--skip-negotiation",
        help="Connect the WebSocket directly, without negotiate (WebSockets only).",
        rich_help_panel=CONNECTION,
    ),
]
HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "-H",
        "--header",
        metavar="'NAME: VALUE'",
        help="Extra HTTP header (repeatable).",
        rich_help_panel=HTTP,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="TOKEN",
        show_default=False,
        help="Bearer token [env: HUBCLI_TOKEN] (an explicit -H 'Authorization: ...' wins).",
        rich_help_panel=HTTP,
    ),
]
TokenFileOption = Annotated[
    str | None,
    typer.Option(
        "--token-file",
        metavar="FILE",
        show_default=False,
        help="Read the bearer token from FILE (up to 1 MiB), afresh at each connect.",
        rich_help_panel=HTTP,
    ),
]
TokenInQueryOption = Annotated[
    bool,
    typer.Option(
        "--token-in-query",
        help="Also send the token as access_token= in the transport URL.",
        rich_help_panel=HTTP,
    ),
]
CookieOption = Annotated[
    list[str] | None,
    typer.Option(
        "-b",
        "--cookie",
        metavar="'NAME=VALUE; ...'|FILE",
        show_default=False,
        help="Cookies to send, or a Netscape cookie file of up to 1 MiB (repeatable).",
        rich_help_panel=HTTP,
    ),
]
CacertOption = Annotated[
    str | None,
    typer.Option(
        "--cacert",
        metavar="FILE",
        show_default=False,
        help="Trust the CA certificates in FILE (PEM) instead of the system store.",
        rich_help_panel=HTTP,
    ),
]
CertOption = Annotated[
    str | None,
    typer.Option(
        "--cert",
        metavar="FILE",
        show_default=False,
        help="Client certificate (PEM; with its key unless --key).",
        rich_help_panel=HTTP,
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="FILE",
        show_default=False,
        help="Private key of --cert (PEM).",
        rich_help_panel=HTTP,
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "-k",
        "--insecure",
        help="Do not verify the server's TLS certificate.",
        rich_help_panel=HTTP,
    ),
]
ProxyOption = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        metavar="URL",
        show_default=False,
        help="HTTP proxy for every request [env: HTTPS_PROXY, HTTP_PROXY, NO_PROXY]; '' for none.",
        rich_help_panel=HTTP,
    ),
]
ConnectTimeoutOption = Annotated[
    float,
    typer.Option(
        "--connect-timeout",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="Limit on negotiate + transport + handshake (0: none).",
        rich_help_panel=LIMITS,
    ),
]
MaxTimeOption = Annotated[
    float | None,
    typer.Option(
        "-m",
        "--max-time",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="Limit on the whole run, from process start (exit 124; 0: none).",
        rich_help_panel=LIMITS,
    ),
]
IdleTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--idle-timeout",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="Give up after this long without a message from the server (exit 124; "
        "default 30, but none over Long Polling unless given; 0: never).",
        rich_help_panel=LIMITS,
    ),
]
KeepaliveOption = Annotated[
    float,
    typer.Option(
        "--keepalive",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="Ping after this long without sending (0: never).",
        rich_help_panel=LIMITS,
    ),
]
MaxMessageSizeOption = Annotated[
    int,
    typer.Option(
        "--max-message-size",
        min=1,
        metavar="BYTES",
        help=(
            "Largest hub message accepted from the server (exit 6 beyond), "
            "and largest stdin record upload sends (exit 2 beyond)."
        ),
        rich_help_panel=LIMITS,
    ),
]


ConnectRetriesOption = Annotated[
    int,
    typer.Option(
        "--connect-retries",
        min=0,
        metavar="N",
        help="Retry the first connect up to N times when it is refused, cannot resolve "
        "the host or gets a 5xx (not on 401/403 or a protocol error), with backoff.",
        rich_help_panel=CONNECTION,
    ),
]
StatefulReconnectOption = Annotated[
    bool,
    typer.Option(
        "--stateful-reconnect",
        help="Ask for stateful reconnect (ASP.NET Core 8+, WebSockets): a dropped "
        "connection is resumed and nothing sent either way is lost or repeated.",
        rich_help_panel=CONNECTION,
    ),
]


def verbose_option(help_text: str, panel: str | None = None) -> Any:
    """-v/--verbose, counted (-vv), as every command spells it."""
    return typer.Option(
        "-v", "--verbose", count=True, show_default=False, help=help_text, rich_help_panel=panel
    )


VerboseOption = Annotated[
    int,
    verbose_option("-v: connection events; -vv: every frame (tokens redacted). On stderr.", OUTPUT),
]


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    url: str
    protocol: str = "json"
    transports: tuple[str, ...] = ("auto",)
    skip_negotiation: bool = False
    # Headers, cookies, token, TLS and proxies: built once, shared by every request.
    network: NetworkSettings | None = None
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
    max_time: float | None = None
    # None: hubcli's default (30 s, none over Long Polling); 0: never.
    idle_timeout: float | None = None
    keepalive: float = DEFAULT_KEEPALIVE_SECONDS
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    connect_retries: int = 0
    stateful_reconnect: bool = False
    verbosity: int = 0
    warnings: tuple[str, ...] = ()

    def connect_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `hubcli.connect`."""
        from hubcli.client.api import DEFAULT

        server_timeout: Any = DEFAULT
        if self.idle_timeout is not None:
            server_timeout = self.idle_timeout or None
        arguments: dict[str, Any] = {
            "protocol": self.protocol,
            "transport": self.transports,
            "skip_negotiation": self.skip_negotiation,
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": self.keepalive,
            "server_timeout": server_timeout,
            "max_message_size": self.max_message_size,
            "connect_retries": self.connect_retries,
            "stateful_reconnect": self.stateful_reconnect,
        }
        if self.network is not None:
            arguments["network"] = self.network
        return arguments


@dataclass(frozen=True, slots=True)
class OutputSettings:
    raw: bool = False
    envelope: bool = False
    # --pretty/--compact and --color/--no-color; None: as stdout and the
    # environment decide (pretty.choose_style).
    pretty: bool | None = None
    color: bool | None = None


def parse_header(text: str) -> tuple[str, str]:
    from hubcli.client.network import header_name_problem, header_value_problem

    name, separator, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not separator or header_name_problem(name) is not None:
        raise UsageError(f"invalid header {text!r}", hint="use -H 'Name: value'")
    problem = header_value_problem(value)
    if problem is not None:
        raise UsageError(f"invalid header {name!r}: {problem}")
    return name, value


def _check_url(url: str) -> None:
    from hubcli.client.arguments import check_hub_url

    try:
        check_hub_url(url)
    except ValueError as error:
        raise UsageError(str(error)) from None


@dataclass(frozen=True, slots=True)
class ConnectionFlags:
    """The connection options as given on the command line."""

    protocol: ProtocolName = ProtocolName.json
    transport: list[str] | None = None
    skip_negotiation: bool = False
    header: list[str] | None = None
    token: str | None = None
    token_file: str | None = None
    token_in_query: bool = False
    cookie: list[str] | None = None
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False
    proxy: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_time: float | None = None
    idle_timeout: float | None = None
    keepalive: float = DEFAULT_KEEPALIVE_SECONDS
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    connect_retries: int = 0
    stateful_reconnect: bool = False
    verbose: int = 0

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> ConnectionFlags:
        """The connection options among a command's parameters: each client
        command lists them all in its signature and passes its `locals()`."""
        return cls(**{field.name: params[field.name] for field in fields(cls)})


def _transports(values: list[str] | None) -> tuple[str, ...]:
    names = [word for value in values or ("auto",) for word in transport_words(value)]
    if not names:
        raise UsageError("unknown transport ''", hint=f"use -t {'|'.join(TRANSPORT_FLAG_NAMES)}")
    return tuple(dict.fromkeys(names))


def connection_settings(url: str, flags: ConnectionFlags) -> ConnectionSettings:
    """Check the flags against each other and turn them into settings."""
    _check_url(url)
    transports = _transports(flags.transport)
    from hubcli.client.arguments import skips_negotiation

    try:
        skip_negotiation = skips_negotiation(url, flags.skip_negotiation, transports)
    except ValueError as error:
        message = str(error)
        if flags.skip_negotiation:
            message = "--skip-negotiation works only with the WebSockets transport"
        raise UsageError(message) from None
    if flags.protocol is ProtocolName.messagepack and transports == ("sse",):
        raise UsageError(
            "MessagePack cannot go over Server-Sent Events, which carry text only",
            hint="use -p json, or -t websockets or -t longpolling",
        )
    if flags.stateful_reconnect and (
        skip_negotiation or not set(transports) & {"auto", "websockets"}
    ):
        raise UsageError(
            "--stateful-reconnect needs negotiate and the WebSockets transport",
            hint="drop --skip-negotiation, or use -t websockets or auto",
        )
    from .network_options import network_settings

    network, warnings = network_settings(url, flags, os.environ)
    return ConnectionSettings(
        url=url,
        protocol=flags.protocol.value,
        transports=transports,
        skip_negotiation=skip_negotiation,
        network=network,
        warnings=warnings,
        connect_timeout=flags.connect_timeout or None,
        max_time=flags.max_time or None,
        idle_timeout=flags.idle_timeout,
        keepalive=flags.keepalive,
        max_message_size=flags.max_message_size,
        connect_retries=flags.connect_retries,
        stateful_reconnect=flags.stateful_reconnect,
        verbosity=flags.verbose,
    )
