"""Notify: its Completion first, then the pushes in order; bursts written in bulk,
and ended with the connection; fan-out encodes once per protocol and waits for a
slow client without holding up the others."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio

from hubcli.protocol import (
    Completion,
    HubMessage,
    HubProtocol,
    IncomingMessage,
    Invocation,
    Ping,
    protocol_by_name,
)
from hubcli.server.fanout import send_invocation
from hubcli.server.pipes import BytePipe
from hubcli.server.state import HubState
from tests.server.conftest import Hub
from tests.server.rawclient import RawHub, Transport, raw_hub


@pytest.mark.parametrize(
    ("transport", "protocol"),
    [("websockets", "json"), ("websockets", "messagepack"), ("longpolling", "json")],
)
@pytest.mark.parametrize("delay_ms", [0, 5])
async def test_the_completion_comes_first_then_the_pushes_in_order(
    hub: Hub, transport: Transport, protocol: str, delay_ms: int
) -> None:
    async with raw_hub(hub.url, transport, protocol=protocol) as raw:
        await raw.send(Invocation("Notify", ["Tick", 5, delay_ms], "n"))
        received: list[IncomingMessage] = []
        while len(received) < 6:
            message = await raw.receive()
            if not isinstance(message, Ping):
                received.append(message)
        assert received == [
            Completion.with_result("n", None),
            *(Invocation("Tick", [index]) for index in range(5)),
        ]
        counters = (await raw.invoke("GetCounters")).result
        assert counters["invocationsSent"] == 5


async def test_a_burst_goes_out_many_pushes_to_a_frame(hub: Hub) -> None:
    count = 100_000
    async with RawHub.connect(hub.url, max_message_size=2**24) as raw:
        assert (await raw.invoke("Notify", "Tick", count, 0)).error is None
        frames_before = raw.data_messages
        for index in range(count):
            invocation = await raw.receive_invocation()
            assert invocation.arguments == [index]
        # One write per push would make about one frame per push.
        assert raw.data_messages - frames_before <= count // 500


def _tasks_named(fragment: str) -> list[str]:
    def walk(task: trio.lowlevel.Task) -> Iterator[str]:
        yield task.name
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                yield from walk(child)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return [name for name in walk(root) if fragment in name]


async def test_the_burst_ends_with_the_connection(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        assert (await raw.invoke("Notify", "Tick", 10**9, 0)).error is None
        assert (await raw.receive_invocation()).arguments == [0]
        assert _tasks_named("notify.<locals>.burst")
    state = hub.app.state
    assert await state.wait_until(lambda: not state.connections, 10)
    # The connection's end is its hub's end, and the burst ran inside that hub.
    assert _tasks_named("notify.<locals>.burst") == []


async def test_notify_needs_a_target(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        assert (await raw.invoke("Notify", "", 1, 0)).error == (
            "An unexpected error occurred invoking 'Notify' on the server. "
            "HubException: A client method name is required."
        )


class CountingProtocol:
    """A real protocol that counts its encode calls."""

    def __init__(self, name: str) -> None:
        self.inner = protocol_by_name(name)
        self.name = name
        self.encodes = 0

    def encode(self, message: HubMessage) -> bytes:
        self.encodes += 1
        return self.inner.encode(message)


class PipeClient:
    """A recipient whose output is a real BytePipe that the test reads (or not)."""

    def __init__(self, connection_id: str, protocol: Any, pause_threshold: int = 64) -> None:
        self.connection_id = connection_id
        self.user_id: str | None = None
        self.protocol: HubProtocol = protocol
        self.pipe = BytePipe(pause_threshold)
        self.enqueued: list[bytes] = []

    def enqueue(self, data: bytes, messages: int = 1) -> bool:
        self.enqueued.append(data)
        return self.pipe.write_nowait(data)

    async def drained(self) -> None:
        await self.pipe.drained()

    @property
    def backlogged(self) -> bool:
        return self.pipe.over_threshold

    def request_close(self, error: str | None, allow_reconnect: bool) -> None:
        self.pipe.complete()


async def test_fan_out_encodes_once_per_protocol() -> None:
    json, msgpack = CountingProtocol("json"), CountingProtocol("messagepack")
    json_clients = [PipeClient(f"j{i}", json, 2**20) for i in range(3)]
    msgpack_clients = [PipeClient(f"m{i}", msgpack, 2**20) for i in range(3)]
    mixed = [client for pair in zip(json_clients, msgpack_clients, strict=True) for client in pair]
    await send_invocation(HubState(), mixed, "Hello", [1, "x"])
    assert (json.encodes, msgpack.encodes) == (1, 1)
    for group, name in ((json_clients, "json"), (msgpack_clients, "messagepack")):
        # Every recipient of one protocol was handed the very same bytes.
        [data] = group[0].enqueued
        assert all(client.enqueued == [data] and client.enqueued[0] is data for client in group)
        assert protocol_by_name(name).parser().feed(data) == [Invocation("Hello", [1, "x"])]


async def test_a_slow_client_holds_up_the_sender_not_the_others() -> None:
    protocol = protocol_by_name("json")
    stuck, fast = PipeClient("stuck", protocol), PipeClient("fast", protocol)
    # Over the pause threshold already: nobody reads this client.
    stuck.pipe.write_nowait(b"x" * 100)
    sent = trio.Event()
    async with trio.open_nursery() as nursery:

        async def send() -> None:
            await send_invocation(HubState(), [stuck, fast], "News", [])
            sent.set()

        nursery.start_soon(send)
        # The fast client has the message while the sender still waits.
        with trio.fail_after(5):
            data = await fast.pipe.read()
        assert protocol.parser().feed(data or b"") == [Invocation("News", [])]
        await trio.testing.wait_all_tasks_blocked()
        assert not sent.is_set()
        # A client that goes away (its output completed) is not waited for any more.
        stuck.pipe.complete()
        await sent.wait()
