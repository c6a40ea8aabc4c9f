"""Everything a user can tune on the built-in hub, with the real server's defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hubcli.protocol import negotiate

from .faults import Faults
from .hubspec import HubSpec, normal_path

# The protocol core's (one definition), named here too for the server's modules
# and `hubcli serve`.
TransportName = negotiate.TransportName

ALL_TRANSPORTS = (
    TransportName.WEBSOCKETS,
    TransportName.SERVER_SENT_EVENTS,
    TransportName.LONG_POLLING,
)


_SECONDS = (
    "keepalive",
    "client_timeout",
    "handshake_timeout",
    "long_poll_timeout",
    "disconnect_timeout",
    "shutdown_grace",
    "ack_interval",
    "websocket_close_timeout",
)


@dataclass(frozen=True, slots=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 5000
    path: str = "/hub"
    transports: tuple[TransportName, ...] = ALL_TRANSPORTS
    # More hub endpoints (--hub); one at `path` sets that endpoint's own settings.
    hubs: tuple[HubSpec, ...] = ()
    # The JSON protocol's naming policy for typed objects (naming.py): "camel"
    # (ASP.NET Core's default) or "pascal" (PropertyNamingPolicy = null).
    json_naming: str = "camel"
    require_token: str | None = None
    # HS256 key: the hub then requires a JWT signed with it (bearer.py).
    jwt_key: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    # With TLS: also listen for plain HTTP on this port (0: any free one), as an app
    # listening on an https and an http URL does.
    http_port: int | None = None
    # Test aids standing in for a deployment: client certificates required, a load
    # balancer's sticky-session cookie, a proxy that blocks WebSocket upgrades.
    tls_client_ca: str | None = None
    sticky_cookie: tuple[str, str] | None = None
    # Set-Cookie values every negotiate answer carries (besides the sticky cookie).
    negotiate_cookies: tuple[str, ...] = ()
    break_websockets: bool = False
    # HubOptions defaults of ASP.NET Core SignalR.
    keepalive: float = 15.0
    client_timeout: float = 30.0
    handshake_timeout: float = 15.0
    max_message_size: int | None = 32 * 1024
    detailed_errors: bool = False
    stream_buffer_capacity: int = 10
    # HttpConnectionDispatcherOptions / ConnectionOptions defaults.
    long_poll_timeout: float = 90.0
    disconnect_timeout: float = 15.0
    # Stateful reconnect: AllowStatefulReconnects (off unless asked for) and
    # HubOptions.StatefulReconnectBufferSize; the real server's fixed Ack period
    # (MessageBuffer.AckRate) and WebSocketOptions.CloseTimeout, settable so tests
    # need not wait for them.
    allow_stateful_reconnect: bool = False
    stateful_reconnect_buffer_size: int = 100_000
    ack_interval: float = 1.0
    websocket_close_timeout: float = 5.0
    # The chaos hub: a TCP relay in front of the HTTP server, so hub methods can
    # cut a connection as a network would (chaos.py); and the faults every
    # connection meets (faults.py).
    chaos: bool = False
    faults: Faults = field(default_factory=Faults)
    # Only the sample methods use it (TriggerStream's pause between jobs).
    stream_delay_ms: int = 250
    # How long a shutdown waits for connections to take their Close message.
    shutdown_grace: float = 2.0
    verbose: int = 0

    def __post_init__(self) -> None:
        # A nan duration would otherwise pass here and fail every connection later,
        # when trio refuses it as a deadline. inf is no limit (`hubcli serve`'s 0).
        for name in _SECONDS:
            value = getattr(self, name)
            if math.isnan(value) or value < 0:
                raise ValueError(
                    f"{name} must be a number of seconds >= 0 (inf: none), not {value}"
                )
        if self.stateful_reconnect_buffer_size < 0:
            raise ValueError("stateful_reconnect_buffer_size must be >= 0")
        if self.jwt_key is not None and (problem := jwt_key_problem(self.jwt_key)) is not None:
            raise ValueError(f"jwt_key: {problem}")
        for cookie in self.negotiate_cookies:
            if (problem := cookie_problem(cookie)) is not None:
                raise ValueError(f"negotiate_cookies: {problem}")
        if self.json_naming not in JSON_NAMINGS:
            raise ValueError(f"json_naming: one of {', '.join(JSON_NAMINGS)}")
        self.hub_specs()

    @property
    def has_credentials(self) -> bool:
        """Whether the server has tokens to check (--jwt-key or --require-token)."""
        return self.jwt_key is not None or self.require_token is not None

    def hub_specs(self) -> tuple[HubSpec, ...]:
        """Every hub endpoint with its settings resolved, the `path` one first;
        ValueError for a path mapped twice or authorization without credentials."""
        default = HubSpec(self.hub_path)
        others: list[HubSpec] = []
        seen: set[str] = set()
        for spec in self.hubs:
            if spec.key in seen:
                raise ValueError(f"hubs: {spec.path} is mapped twice")
            seen.add(spec.key)
            if spec.key == default.key:
                default = spec
            else:
                others.append(spec)
        resolved = tuple(
            spec.with_defaults(self.transports, self.has_credentials) for spec in (default, *others)
        )
        for spec in resolved:
            if spec.authorize and not self.has_credentials:
                raise ValueError(
                    f"hubs: {spec.path} requires authorization, which needs a jwt_key "
                    "or require_token"
                )
        return resolved

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def hub_path(self) -> str:
        """The path with one leading slash and no trailing one ("/" for the root)."""
        return normal_path(self.path)


JSON_NAMINGS = ("camel", "pascal")

# ASP.NET Core's token handler refuses HS256 keys under 256 bits (IDX10720).
MIN_JWT_KEY_BYTES = 32


def jwt_key_problem(key: str) -> str | None:
    """Why `key` cannot sign HS256 tokens, or None."""
    size = len(key.encode("utf-8"))
    if size < MIN_JWT_KEY_BYTES:
        return f"an HS256 key needs at least {MIN_JWT_KEY_BYTES} bytes, not {size}"
    return None


def cookie_problem(cookie: str) -> str | None:
    """Why `cookie` cannot be a Set-Cookie header's value, or None."""
    name, separator, _ = cookie.partition("=")
    if not separator or not name.strip():
        return f"expected NAME=VALUE[; ATTRIBUTES], not {cookie!r}"
    if any(ord(character) < 0x20 and character != "\t" for character in cookie):
        return "a header value holds no control characters"
    if not cookie.isascii():
        return "a header value is ASCII"
    return None
