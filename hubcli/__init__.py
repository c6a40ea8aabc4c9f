"""hubcli: a command-line client (and trio library) for ASP.NET Core SignalR hubs."""

from __future__ import annotations

__version__ = "0.1.0"
