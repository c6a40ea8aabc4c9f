"""hubcli: a command-line client (and trio library) for ASP.NET Core SignalR hubs.

`hubcli.connect()` is the library's way in; every exception it raises on purpose
is a `hubcli.HubcliError`, and the whole tree is importable from here (and from
hubcli.client and hubcli.errors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .errors import *  # noqa: F403  (the exception tree, listed in hubcli.errors)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hubcli.client import connect

__all__ = [
    "__version__",
    "connect",
]
__all__ += errors.__all__


def __getattr__(name: str) -> Any:
    # Lazy, so `hubcli serve` and `--help` do not import the client (and trio) for nothing.
    if name == "connect":
        from hubcli.client import connect

        return connect
    raise AttributeError(f"module 'hubcli' has no attribute {name!r}")
