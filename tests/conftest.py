"""Shared pytest fixtures. Each owner keeps their fixtures in their own block."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests import serverproc
from tests.serverproc import HubServer

# ---------------------------------------------------------------- built-in hub
# (owner: the `hubcli serve` engineer) -- see tests/serverproc.py


@pytest.fixture
def start_hub_server() -> Iterator[Callable[..., HubServer]]:
    """A factory: start_hub_server("--keepalive", "1") -> HubServer (.url, .stop()).

    Every server it started is stopped with SIGINT at teardown.
    """
    servers: list[HubServer] = []

    def start(*flags: str) -> HubServer:
        server = serverproc.start_hub_server(*flags)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def hub_server(start_hub_server: Callable[..., HubServer]) -> str:
    """The URL of a fresh `hubcli serve --port 0` (default flags) for this test."""
    return start_hub_server().url


@pytest.fixture(scope="session")
def shared_hub_server() -> Iterator[str]:
    """One `hubcli serve` for the whole session (faster; its state is shared, so
    compare counters such as GetCancelledStreamCount before and after)."""
    server = serverproc.start_hub_server()
    yield server.url
    server.stop()


# ------------------------------------------------------------ end built-in hub
