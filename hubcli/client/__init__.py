"""The trio SignalR client: `connect()` and the Hub it yields."""

from __future__ import annotations

from hubcli import errors as _errors
from hubcli.errors import *  # noqa: F403  (the exception tree, listed in hubcli.errors)

from .api import Hub, StreamCall, connect
from .connection import ItemBatches
from .network import NetworkSettings, tls_context
from .pushes import (
    ClientResult,
    Event,
    EventStream,
    Lifecycle,
    Reconnected,
    Reconnecting,
    Registration,
)
from .reconnect import ReconnectPolicy

__all__ = [
    "ClientResult",
    "Event",
    "EventStream",
    "Hub",
    "ItemBatches",
    "Lifecycle",
    "NetworkSettings",
    "ReconnectPolicy",
    "Reconnected",
    "Reconnecting",
    "Registration",
    "StreamCall",
    "connect",
    "tls_context",
]
__all__ += _errors.__all__
