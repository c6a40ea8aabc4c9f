"""Options shared by the client commands, declared once, and what they turn into.

Kept light on purpose (typer only): every command module imports this at start-up,
and the connection machinery is imported only once a command runs.
"""

from __future__ import annotations

import enum
import functools
import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

import typer

from .errors import UsageError

DEFAULT_MAX_MESSAGE_SIZE: Final = 16 * 1024 * 1024
DEFAULT_CONNECT_TIMEOUT: Final = 30.0
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

CONNECTION: Final = "Connection"
OUTPUT: Final = "Output"
ARGUMENTS: Final = "Arguments"


class ProtocolName(enum.StrEnum):
    json = "json"
    messagepack = "messagepack"


class TransportName(enum.StrEnum):
    auto = "auto"
    websockets = "websockets"


UrlArg = Annotated[
    str,
    typer.Argument(
        metavar="URL", help="Hub URL, e.g. http://127.0.0.1:5000/hub.", show_default=False
    ),
]
MethodArg = Annotated[
    str, typer.Argument(metavar="METHOD", help="Hub method name.", show_default=False)
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
        help="The whole argument array, verbatim (instead of ARGs).",
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
    typer.Option("-p", "--protocol", help="Hub protocol.", rich_help_panel=CONNECTION),
]
TransportOption = Annotated[
    TransportName,
    typer.Option("-t", "--transport", help="Transport.", rich_help_panel=CONNECTION),
]
SkipNegotiationOption = Annotated[
    bool,
    typer.Option(
        "--skip-negotiation",
        help="Connect the WebSocket directly, without negotiate.",
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
        rich_help_panel=CONNECTION,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="TOKEN",
        envvar="HUBCLI_TOKEN",
        show_envvar=True,
        show_default=False,
        help="Bearer token (an explicit -H 'Authorization: ...' wins).",
        rich_help_panel=CONNECTION,
    ),
]
ConnectTimeoutOption = Annotated[
    float,
    typer.Option(
        "--connect-timeout",
        min=0.0,
        metavar="SECONDS",
        help="Limit on negotiate + transport + handshake.",
        rich_help_panel=CONNECTION,
    ),
]
MaxTimeOption = Annotated[
    float | None,
    typer.Option(
        "-m",
        "--max-time",
        min=0.0,
        metavar="SECONDS",
        help="Limit on the whole run, from process start (exit 124).",
        rich_help_panel=CONNECTION,
    ),
]
IdleTimeoutOption = Annotated[
    float,
    typer.Option(
        "--idle-timeout",
        min=0.0,
        metavar="SECONDS",
        help="Give up after this long without a message from the server (exit 124).",
        rich_help_panel=CONNECTION,
    ),
]
KeepaliveOption = Annotated[
    float,
    typer.Option(
        "--keepalive",
        min=0.0,
        metavar="SECONDS",
        help="Ping after this long without sending (0: never).",
        rich_help_panel=CONNECTION,
    ),
]
MaxMessageSizeOption = Annotated[
    int,
    typer.Option(
        "--max-message-size",
        min=1,
        metavar="BYTES",
        help="Largest hub message accepted from the server (exit 6 beyond).",
        rich_help_panel=CONNECTION,
    ),
]
VerboseOption = Annotated[
    int,
    typer.Option(
        "-v",
        "--verbose",
        count=True,
        show_default=False,
        help="-v: connection events; -vv: every frame (tokens redacted). On stderr.",
        rich_help_panel=CONNECTION,
    ),
]


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    url: str
    protocol: str = "json"
    transport: str = "auto"
    skip_negotiation: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    token: str | None = None
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
    max_time: float | None = None
    idle_timeout: float | None = 30.0
    keepalive: float = 15.0
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    verbosity: int = 0

    def connect_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `hubcli.connect`."""
        return {
            "protocol": self.protocol,
            "transport": self.transport,
            "skip_negotiation": self.skip_negotiation,
            "headers": self.headers,
            "access_token": self.token,
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": self.keepalive,
            "server_timeout": self.idle_timeout,
            "max_message_size": self.max_message_size,
        }


@dataclass(frozen=True, slots=True)
class OutputSettings:
    raw: bool = False
    envelope: bool = False


def parse_header(text: str) -> tuple[str, str]:
    name, separator, value = text.partition(":")
    name = name.strip()
    if not separator or not _HEADER_NAME.match(name):
        raise UsageError(f"invalid header {text!r}", hint="use -H 'Name: value'")
    return name, value.strip()


def _check_url(url: str) -> None:
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in ("http", "https", "ws", "wss"):
        raise UsageError(f"invalid hub URL {url!r}", hint="use http://, https://, ws:// or wss://")


@dataclass(frozen=True, slots=True)
class ConnectionFlags:
    """The connection options as given on the command line."""

    protocol: ProtocolName = ProtocolName.json
    transport: TransportName = TransportName.auto
    skip_negotiation: bool = False
    header: list[str] | None = None
    token: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_time: float | None = None
    idle_timeout: float = 30.0
    keepalive: float = 15.0
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    verbose: int = 0


_FLAG_ANNOTATIONS: Final[dict[str, Any]] = {
    "protocol": ProtocolOption,
    "transport": TransportOption,
    "skip_negotiation": SkipNegotiationOption,
    "header": HeaderOption,
    "token": TokenOption,
    "connect_timeout": ConnectTimeoutOption,
    "max_time": MaxTimeOption,
    "idle_timeout": IdleTimeoutOption,
    "keepalive": KeepaliveOption,
    "max_message_size": MaxMessageSizeOption,
    "verbose": VerboseOption,
}


def with_connection_flags(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command every connection option, collected into `flags: ConnectionFlags`.

    The options are declared once here instead of in each command's signature;
    typer reads the signature this builds.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [parameter for name, parameter in signature.parameters.items() if name != "flags"]
    defaults = ConnectionFlags()
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=getattr(defaults, name),
            annotation=annotation,
        )
        for name, annotation in _FLAG_ANNOTATIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        flags = ConnectionFlags(**{name: kwargs.pop(name) for name in _FLAG_ANNOTATIONS})
        command(**kwargs, flags=flags)

    parameters = own + added
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__
    return wrapper


def connection_settings(url: str, flags: ConnectionFlags) -> ConnectionSettings:
    """Check the flags against each other and turn them into settings."""
    _check_url(url)
    skip_negotiation = flags.skip_negotiation
    if skip_negotiation and flags.transport not in (TransportName.auto, TransportName.websockets):
        raise UsageError("--skip-negotiation works only with the WebSockets transport")
    if url.lower().startswith(("ws://", "wss://")):
        # negotiate is HTTP; a ws:// URL can only mean a direct WebSocket.
        skip_negotiation = True
    return ConnectionSettings(
        url=url,
        protocol=flags.protocol.value,
        transport=flags.transport.value,
        skip_negotiation=skip_negotiation,
        headers=tuple(parse_header(text) for text in flags.header or ()),
        token=flags.token or os.environ.get("HUBCLI_TOKEN") or None,
        connect_timeout=flags.connect_timeout or None,
        max_time=flags.max_time,
        idle_timeout=flags.idle_timeout or None,
        keepalive=flags.keepalive,
        max_message_size=flags.max_message_size,
        verbosity=flags.verbose,
    )
