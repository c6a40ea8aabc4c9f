"""The hub talking back: bursts of pushes to the caller, and client results.

Notify answers first and pushes afterwards, so a client sees its Completion before
the first push; with delayMs 0 the pushes are encoded many to a write, so a burst
of a million is paced by the connection, never by the server. AskCaller and
AskClient return what the client's handler returned; a handler's error reaches
the invoking caller as the real server shows a HubException: "An unexpected error
occurred invoking 'AskCaller' on the server. HubException: <the client's error>".
"""

from __future__ import annotations

from typing import Any

import trio

from hubcli.server.binding import hub_method
from hubcli.server.bulk import invocation_encoder
from hubcli.server.context import CallContext
from hubcli.server.errors import HubException

# Invocations per write of a burst: big enough that encoding and writing cost next
# to nothing per push, small enough that backpressure still bites every few KB.
BATCH = 2048


def _required_target(target: str | None) -> str:
    if not target:
        raise HubException("A client method name is required.")
    return target


@hub_method("Notify(target: string, count: int, delayMs: int) -> void")
async def notify(ctx: CallContext, target: str | None, count: int, delay_ms: int) -> None:
    """Completes at once, then calls the caller's client method target(i) for i in
    0..count-1, delayMs milliseconds apart (0: in bulk, as fast as the connection
    takes them); the burst ends with the connection."""
    method = _required_target(target)

    async def burst() -> None:
        if delay_ms > 0:
            for index in range(count):
                if index:
                    await trio.sleep(delay_ms / 1000)
                await ctx.clients.caller.send(method, index)
            return
        encode = invocation_encoder(ctx.connection.protocol, method)
        for start in range(0, max(count, 0), BATCH):
            indexes = range(start, min(start + BATCH, count))
            await ctx.connection.write_bytes(encode(indexes), len(indexes))
            ctx.state.count_invocations(len(indexes))

    ctx.start_after_completion(burst)


@hub_method("AskCaller(target: string, args: any[]) -> any")
async def ask_caller(ctx: CallContext, target: str | None, args: list[Any] | None) -> Any:
    """Invokes the caller's client method target(...args) for a result (a client
    result, server id s1, s2, ...) and returns it; the client's error fails the call."""
    return await ctx.clients.caller.invoke(_required_target(target), *(args or []))


@hub_method("AskClient(connectionId: string, target: string, args: any[]) -> any")
async def ask_client(
    ctx: CallContext, connection_id: str, target: str | None, args: list[Any] | None
) -> Any:
    """As AskCaller, of another connection; an unknown one fails the call with
    IOException "Connection '<id>' does not exist.", one that drops meanwhile with
    "Connection '<id>' disconnected." (shown with --detailed-errors)."""
    proxy = ctx.clients.client(connection_id)
    return await proxy.invoke(_required_target(target), *(args or []))
