"""In-process hubs for the server tests: `hub` (default options) and `start_hub`.

The hub runs in the test's own trio run (pytest-trio's nursery), so tests can
also look at its state through `Hub.app` and wait on its events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import trio

from hubcli.server import HubApp, ServerOptions, serve


@dataclass
class Hub:
    url: str
    app: HubApp

    @property
    def base(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


StartHub = Callable[..., Awaitable[Hub]]


@pytest.fixture
def start_hub(nursery: trio.Nursery) -> StartHub:
    async def start(**options: Any) -> Hub:
        server_options = ServerOptions(port=0, **options)
        app = HubApp(server_options)
        url = await nursery.start(
            lambda task_status: serve(server_options, app=app, task_status=task_status)
        )
        return Hub(url, app)

    return start


@pytest.fixture
async def hub(start_hub: StartHub) -> Hub:
    return await start_hub()
