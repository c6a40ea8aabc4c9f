"""Methods hubcli's own tests and benchmarks call to prove client behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trio

from hubcli.server.binding import hub_method
from hubcli.server.context import CallContext, ItemBatch, Upload
from hubcli.server.errors import CONNECTION_CLOSED_WITH_ERROR, HubException

from .uploads import summarize

BATCH = 2048


@hub_method("Add(x: number, y: number) -> number")
async def add(ctx: CallContext, x: float, y: float) -> float:
    """Returns x + y."""
    return x + y


@hub_method("Void() -> empty")
async def void(ctx: CallContext) -> None:
    """Completes without a result field (a void Completion). The real server answers
    its own void methods with result null; this one exists to exercise clients."""


@hub_method("Null() -> any")
async def null(ctx: CallContext) -> None:
    """Returns null (a Completion with "result": null)."""


@hub_method("Slow(ms: int) -> int")
async def slow(ctx: CallContext, ms: int) -> int:
    """Returns ms after ms milliseconds (holds the connection's invocation slot)."""
    await trio.sleep(ms / 1000)
    return ms


@hub_method("ThrowHubException(message: string) -> void")
async def throw_hub_exception(ctx: CallContext, message: str | None) -> None:
    """Throws HubException(message), whose text always reaches the client."""
    raise HubException(message or "")


# Twice the client's default 16 MiB message limit, so going over it stays testable;
# without a cap, one call could make the server allocate gigabytes.
BIG_RESULT_LIMIT = 32 * 1024 * 1024


@hub_method("BigResult(length: int) -> string")
async def big_result(ctx: CallContext, length: int) -> str:
    """Returns a string of length "x" characters (to test client size limits);
    at most 33554432 (32 MiB)."""
    if length > BIG_RESULT_LIMIT:
        raise HubException(
            f"BigResult returns at most {BIG_RESULT_LIMIT} characters; {length} were asked for."
        )
    return "x" * max(length, 0)


@hub_method("Forever(delayMs: int) -> stream<int>")
async def forever(ctx: CallContext, delay_ms: int) -> AsyncIterator[int]:
    """Streams 0, 1, 2, ... every delayMs milliseconds (0: as fast as the client
    reads) until the client cancels."""
    index = 0
    while True:
        yield index
        index += 1
        if delay_ms > 0:
            await trio.sleep(delay_ms / 1000)


@hub_method("UploadSummary(stream: stream<any>) -> object")
async def upload_summary(ctx: CallContext, stream: Upload) -> dict[str, Any]:
    """Returns {"count", "checksum"}: the items and the SHA-256 of each item as a line
    (strings as they are, other values as compact JSON), as `sha256sum` of the
    input lines gives; also recorded as the last upload."""
    return await summarize(ctx, stream)


@hub_method("UploadSum(stream: stream<number>) -> number")
async def upload_sum(ctx: CallContext, stream: Upload) -> float:
    """Returns the sum of the uploaded numbers."""
    total: float = 0
    async for item in stream:
        total += item
    return total


@hub_method("GetLastUpload() -> object")
async def get_last_upload(ctx: CallContext) -> dict[str, Any] | None:
    """Returns the last upload's {"count", "checksum"}, or null if none finished yet."""
    return ctx.state.last_upload


@hub_method("GetCancelledStreamCount() -> int")
async def get_cancelled_stream_count(ctx: CallContext) -> int:
    """Returns how many streams clients cancelled (CancelInvocation) since startup."""
    return ctx.state.cancelled_streams


@hub_method("WaitForCancelledStreams(count: int, timeoutMs: int) -> int")
async def wait_for_cancelled_streams(ctx: CallContext, count: int, timeout_ms: int) -> int:
    """Waits until at least count streams were cancelled by clients, then returns the
    count; fails if timeoutMs passes first."""
    if not await ctx.state.wait_for_cancelled_streams(count, timeout_ms / 1000):
        raise HubException(
            f"Timed out after {timeout_ms} ms waiting for {count} cancelled stream(s); "
            f"{ctx.state.cancelled_streams} so far."
        )
    return ctx.state.cancelled_streams


@hub_method("StreamThenThrow(count: int, message: string) -> stream<int>")
async def stream_then_throw(ctx: CallContext, count: int, message: str) -> AsyncIterator[int]:
    """Streams 0..count-1, then throws HubException(message): the stream completes
    with that error after its items."""
    for index in range(count):
        yield index
    raise HubException(message)


@hub_method("FastStream(count: int) -> stream<int>")
async def fast_stream(ctx: CallContext, count: int) -> AsyncIterator[ItemBatch]:
    """Streams the ints 0..count-1, encoded in bulk (many items per transport
    message) so the server is never a benchmark's bottleneck."""
    for start in range(0, max(count, 0), BATCH):
        yield ItemBatch(range(start, min(start + BATCH, count)))


def _objects(start: int, stop: int) -> list[dict[str, Any]]:
    """The objects start..stop-1 of FastObjects, about 100 bytes each as JSON.

    Built a batch at a time (the names in one formatting operation): making them
    must cost the server less than decoding them costs any client.
    """
    ids = range(start, stop)
    names = ("item-%08d\n" * len(ids) % tuple(ids)).split("\n")
    return [
        {
            "id": index,
            "name": name,
            "active": not index & 1,
            "score": index / 4,
            "tags": ["alpha", "beta"],
            "note": "abcdefghijklmnop",
        }
        for index, name in zip(ids, names, strict=False)  # names ends with ""
    ]


# FastObjects builds its batches a slice at a time, with a checkpoint between: a
# batch of 2,048 objects built in one go held the event loop for longer than a
# stateful client takes to work through the server's whole replay buffer, and
# every connection waited meanwhile (Acks too), as a trio hub method should not.
OBJECT_SLICE = 256


@hub_method("FastObjects(count: int) -> stream<object>")
async def fast_objects(ctx: CallContext, count: int) -> AsyncIterator[ItemBatch]:
    """Streams count objects of about 100 bytes each, encoded in bulk."""
    for start in range(0, max(count, 0), BATCH):
        stop = min(start + BATCH, count)
        items: list[dict[str, Any]] = []
        for first in range(start, stop, OBJECT_SLICE):
            items += _objects(first, min(first + OBJECT_SLICE, stop))
            await trio.lowlevel.checkpoint()
        yield ItemBatch(items)


@hub_method("StreamThenClose(count: int) -> stream<int>")
async def stream_then_close(ctx: CallContext, count: int) -> AsyncIterator[int]:
    """Streams 0..count-1, then ends the connection with
    Close{error: "Connection closed with an error."} instead of completing."""
    for index in range(count):
        yield index
    ctx.close_connection(CONNECTION_CLOSED_WITH_ERROR, allow_reconnect=False)
    await trio.sleep_forever()


@hub_method("CloseConnection(error: string, allowReconnect: bool) -> void")
async def close_connection(ctx: CallContext, error: str | None, allow_reconnect: bool) -> None:
    """Ends the connection with Close{error, allowReconnect} (no Completion follows)."""
    ctx.close_connection(error, allow_reconnect)
    await trio.sleep_forever()


@hub_method("Broadcast(message: any) -> void")
async def broadcast(ctx: CallContext, message: Any) -> None:
    """Calls client method Broadcast(message) on every connected client."""
    await ctx.clients.all.send("Broadcast", message)


@hub_method("ClientResult(method: string) -> any")
async def client_result(ctx: CallContext, method: str) -> Any:
    """Invokes client method `method` on the caller with an invocation id (a client
    result request) and returns its result, or its error text."""
    if not method:
        raise HubException("A client method name is required.")
    try:
        return await ctx.clients.caller.invoke(method)
    except HubException as error:
        return str(error)


@hub_method("GetConnectionInfo() -> object")
async def get_connection_info(ctx: CallContext) -> dict[str, Any]:
    """Returns {transport, protocol, connectionId, headers, query, cookies} of the
    request that opened the transport (header names lower-cased)."""
    request = ctx.request
    return {
        "transport": ctx.connection.transport_name,
        "protocol": ctx.connection.protocol_name,
        "connectionId": ctx.connection_id,
        "headers": request.header_dict(),
        "query": request.query_dict(),
        "cookies": request.cookies(),
    }
