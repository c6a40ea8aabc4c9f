"""hubcli: a command-line client (and trio library) for ASP.NET Core SignalR hubs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hubcli.client import connect

__all__ = ["__version__", "connect"]


def __getattr__(name: str) -> Any:
    # Lazy, so `hubcli serve` and `--help` do not import the client (and trio) for nothing.
    if name == "connect":
        from hubcli.client import connect

        return connect
    raise AttributeError(f"module 'hubcli' has no attribute {name!r}")
