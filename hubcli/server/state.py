"""Server-wide hub state, owned by the app object: who is connected, what happened.

Tests ask the hub about it (how many streams the clients cancelled, what the last
upload held), so every change that someone may wait for wakes an event.
"""

from __future__ import annotations

from typing import Any, Protocol

import trio


class HubClient(Protocol):
    @property
    def connection_id(self) -> str: ...

    async def send_invocation(self, target: str, arguments: list[Any]) -> None: ...


class HubState:
    def __init__(self) -> None:
        self.clients: dict[str, HubClient] = {}
        self.last_upload: dict[str, Any] | None = None
        self._cancelled_streams = 0
        self._cancelled_changed = trio.Event()

    @property
    def cancelled_streams(self) -> int:
        return self._cancelled_streams

    def record_cancelled_stream(self) -> None:
        self._cancelled_streams += 1
        self._cancelled_changed.set()
        self._cancelled_changed = trio.Event()

    async def wait_for_cancelled_streams(self, count: int, timeout: float) -> bool:
        """True once at least `count` streams were cancelled; False after `timeout`."""
        with trio.move_on_after(timeout):
            while self._cancelled_streams < count:
                await self._cancelled_changed.wait()
            return True
        return False
