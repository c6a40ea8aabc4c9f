"""Everything a user can tune on the built-in hub, with the real server's defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hubcli.protocol import negotiate

from .faults import Faults

# The protocol core's (one definition), named here too for the server's modules
# and `hubcli serve`.
TransportName = negotiate.TransportName

ALL_TRANSPORTS = (
    TransportName.WEBSOCKETS,
    TransportName.SERVER_SENT_EVENTS,
    TransportName.LONG_POLLING,
)

TRANSPORT_FLAG_NAMES = {
    "websockets": TransportName.WEBSOCKETS,
    "sse": TransportName.SERVER_SENT_EVENTS,
    "longpolling": TransportName.LONG_POLLING,
}


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
    require_token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    # Test aids standing in for a deployment: client certificates required, a load
    # balancer's sticky-session cookie, a proxy that blocks WebSocket upgrades.
    tls_client_ca: str | None = None
    sticky_cookie: tuple[str, str] | None = None
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

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def hub_path(self) -> str:
        """The path with one leading slash and no trailing one ("/" for the root)."""
        return "/" + self.path.strip("/")
