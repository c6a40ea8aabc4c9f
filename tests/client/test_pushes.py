"""The hub calling the client, through the library: handlers, event streams and
client results against a real `hubcli serve` (and, for what only a scripted
server can send, a WebSocket server written in the test)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from trio_websocket import WebSocketRequest, serve_websocket

import hubcli
from hubcli.client import ClientResult, ConnectionClosedError, Event

PROTOCOLS = ["json", "messagepack"]


# ------------------------------------------------------------------ handlers


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_on_calls_handlers_in_order_and_off_removes_them(
    shared_hub_server: str, protocol: str
) -> None:
    calls: list[tuple[str, Any]] = []

    def first(message: Any) -> None:
        calls.append(("first", message))

    async def second(message: Any) -> None:
        await trio.sleep(0)
        calls.append(("second", message))

    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, protocol=protocol) as hub:
            registration = hub.on("message", first)  # the hub sends "Message"
            hub.on("MESSAGE", second)
            hub.on("Message", first)  # the same function once only
            await hub.invoke("InvokeWithString", "a")
            await _until(lambda: len(calls) == 2)
            registration.off()
            await hub.invoke("InvokeWithString", "b")
            await _until(lambda: len(calls) == 3)
            hub.off("Message")
            await hub.invoke("InvokeWithString", "c")
            assert await hub.invoke("Echo", 1) == 1
    assert calls == [("first", "a"), ("second", "a"), ("second", "b")]


async def _until(condition: Any) -> None:
    while not condition():
        await trio.sleep(0.005)


async def test_a_handler_that_raises_is_logged_and_the_connection_goes_on(
    shared_hub_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Any] = []

    def broken(message: Any) -> None:
        raise RuntimeError(f"cannot handle {message}")

    with trio.fail_after(10), caplog.at_level(logging.WARNING, logger="hubcli"):
        async with hubcli.connect(
            shared_hub_server, handlers={"Message": [broken, seen.append]}
        ) as hub:
            await hub.invoke("InvokeWithString", "x")
            await _until(lambda: seen)
            assert await hub.invoke("Echo", "alive") == "alive"
    assert seen == ["x"]
    assert "a handler for 'Message' raised: cannot handle x" in caplog.text


async def test_plain_pushes_are_handled_in_arrival_order(shared_hub_server: str) -> None:
    # A slow async handler must not let a later push overtake an earlier one.
    handled: list[Any] = []

    async def slow_first(message: Any) -> None:
        if message == "0":
            await trio.sleep(0.2)
        handled.append(message)

    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, handlers={"Message": slow_first}) as hub:
            for index in range(5):
                await hub.invoke("InvokeWithString", str(index))
            await _until(lambda: len(handled) == 5)
    assert handled == ["0", "1", "2", "3", "4"]


# ------------------------------------------------------------ event streams


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_events_filter_by_target_case_insensitively(
    shared_hub_server: str, protocol: str
) -> None:
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, protocol=protocol) as hub:
            messages = hub.events("message")
            everything = hub.events()
            await hub.invoke("InvokeWithString", "one")
            await hub.invoke("CallEcho", "two")  # the hub calls "Echo"
            await hub.invoke("InvokeWithString", "three")
            got = [await anext(messages), await anext(messages)]
            assert got == [Event("Message", ["one"]), Event("Message", ["three"])]
            assert [await anext(everything) for _ in range(3)] == [
                Event("Message", ["one"]),
                Event("Echo", ["two"]),
                Event("Message", ["three"]),
            ]


async def test_an_event_stream_ends_with_the_connection_after_what_it_holds(
    shared_hub_server: str,
) -> None:
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server) as hub:
            events = hub.events("Message")
            await hub.invoke("InvokeWithString", "last words")
            with pytest.raises(ConnectionClosedError):
                await hub.invoke("CloseConnection", None, False)
        received = [(await anext(events)).arguments]
        with pytest.raises(ConnectionClosedError):
            await anext(events)
    assert received == [["last words"]]


async def test_closing_an_event_stream_unsubscribes_it(shared_hub_server: str) -> None:
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server) as hub:
            async with hub.events("Message") as events:
                await hub.invoke("InvokeWithString", "kept")
                assert (await anext(events)).arguments == ["kept"]
            await hub.invoke("InvokeWithString", "not kept")
            assert [event async for event in events] == []


# ------------------------------------------------------------ client results


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_client_results(shared_hub_server: str, protocol: str) -> None:
    def fails() -> None:
        raise ValueError("no answer from me")

    handlers: dict[str, Any] = {
        "Value": lambda: {"answer": 42},
        "Nothing": lambda: None,
        "Null": lambda: ClientResult(None),
        "Twice": [lambda: 1, lambda: 2],
        "Fails": fails,
    }
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, protocol=protocol, handlers=handlers) as hub:
            ask = hub.invoke  # ClientResult(method) returns the answer or its error text
            assert await ask("ClientResult", "value") == {"answer": 42}
            assert await ask("ClientResult", "Null") is None
            assert await ask("ClientResult", "Nothing") == "Client didn't provide a result."
            assert await ask("ClientResult", "Missing") == "Client didn't provide a result."
            assert await ask("ClientResult", "Twice") == "Client provided multiple results."
            assert await ask("ClientResult", "Fails") == "no answer from me"


async def test_client_result_requests_are_answered_concurrently(shared_hub_server: str) -> None:
    # The first request's handler waits for the second's: one task for both would hang.
    first_running, second_ran = trio.Event(), trio.Event()

    async def slow() -> str:
        first_running.set()
        await second_ran.wait()
        return "slow"

    def fast() -> str:
        second_ran.set()
        return "fast"

    answers: dict[str, Any] = {}
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, handlers={"Slow": slow, "Fast": fast}) as hub:

            async def ask(method: str) -> None:
                answers[method] = await hub.invoke("ClientResult", method)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask, "Slow")
                await first_running.wait()
                nursery.start_soon(ask, "Fast")
    assert answers == {"Slow": "slow", "Fast": "fast"}


async def test_client_result_requests_show_in_event_streams(shared_hub_server: str) -> None:
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, handlers={"Question": lambda: 7}) as hub:
            events = hub.events("Question")
            assert await hub.invoke("ClientResult", "Question") == 7
            event = await anext(events)
    assert (event.target, event.arguments, event.expects_result) == ("Question", [], True)


# ------------------------------------------- what only a scripted server sends


@asynccontextmanager
async def scripted_hub(first_frame: bytes) -> AsyncIterator[str]:
    """A WebSocket server that answers the handshake with `first_frame` (the
    handshake response and whatever follows it in the same frame), then waits."""

    async def handler(request: WebSocketRequest) -> None:
        ws = await request.accept()
        await ws.get_message()  # the handshake request
        await ws.send_message(first_frame.decode())
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)
        yield f"ws://127.0.0.1:{server.port}/hub"
        nursery.cancel_scope.cancel()


async def test_a_push_in_the_handshake_frame_reaches_handlers_given_to_connect() -> None:
    frame = b'{}\x1e{"type":1,"target":"Welcome","arguments":["hi"]}\x1e'
    got: list[Any] = []
    with trio.fail_after(10):
        async with (
            scripted_hub(frame) as url,
            hubcli.connect(url, skip_negotiation=True, handlers={"welcome": got.append}) as hub,
        ):
            events = hub.events("Welcome")  # subscribed before anything is read
            assert await anext(events) == Event("Welcome", ["hi"])
            await _until(lambda: got)
    assert got == ["hi"]


# ------------------------------------------------------------------ bursts


@pytest.mark.parametrize(
    ("transport", "protocol"),
    [
        ("websockets", "json"),
        ("websockets", "messagepack"),
        ("longpolling", "json"),
        ("sse", "json"),
    ],
)
async def test_a_burst_while_other_calls_run_loses_and_repeats_nothing(
    shared_hub_server: str, transport: str, protocol: str
) -> None:
    count = 50_000
    handled: list[int] = []
    echoed: list[int] = []
    with trio.fail_after(60):
        async with hubcli.connect(
            shared_hub_server,
            transport=transport,
            protocol=protocol,
            handlers={"Tick": handled.append},
        ) as hub:
            ticks = hub.events("Tick")
            received: list[int] = []

            async def read() -> None:
                async for event in ticks:
                    received.append(event.arguments[0])
                    if len(received) == count:
                        return

            async def other_calls() -> None:
                for index in range(100):
                    echoed.append(await hub.invoke("Echo", index))
                assert [i async for i in hub.stream("Counter", 100, 0)] == list(range(100))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read)
                nursery.start_soon(other_calls)
                await hub.invoke("Notify", "Tick", count, 0)
            await _until(lambda: len(handled) == count)
    assert received == list(range(count))
    assert handled == list(range(count))
    assert echoed == list(range(100))
