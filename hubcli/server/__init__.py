"""The built-in hub (`hubcli serve`): an ASGI app on hypercorn's trio worker.

It speaks the same sans-IO protocol core as the client and copies the observable
behaviour of ASP.NET Core SignalR (status codes, texts, timers), so the official
clients cannot tell it from the real server. Nothing here is imported by the client
commands.
"""

from __future__ import annotations

from .app import HubApp
from .options import ServerOptions, TransportName
from .runner import UrlNotWritten, run_server, serve

__all__ = ["HubApp", "ServerOptions", "TransportName", "UrlNotWritten", "run_server", "serve"]
