"""The surface of ASP.NET Core's SignalR benchmark hub (BenchmarkServer's EchoHub),
so every `hubcli bench` scenario runs against `hubcli serve` too.

Echo is the functional tests' (functional.py), which returns its argument as the
benchmark's does. The benchmark's Broadcast(duration) is BroadcastFor here:
`Broadcast(message)` was this hub's before, and hubs have no overloads. Each
method counts its calls (GetCounters' benchmarkCalls), so a benchmark's report
can be checked against what the server saw.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

import trio

from hubcli.protocol.datetimes import utc_now
from hubcli.server.binding import hub_method
from hubcli.server.context import CallContext

# The client method the benchmark hub's pushes call, as crank's client listens for.
PUSH_TARGET: Final = "send"


@hub_method("EchoAll(time: any) -> void")
async def echo_all(ctx: CallContext, time: Any) -> None:
    """Calls client method send(time) on every connected client (benchmark hub)."""
    ctx.state.benchmark_calls["EchoAll"] += 1
    await ctx.clients.all.send(PUSH_TARGET, time)


@hub_method("BroadcastFor(duration: number) -> void")
async def broadcast_for(ctx: CallContext, duration: float) -> None:
    """For `duration` seconds, calls send(now) on every client, again and again
    (the benchmark hub's Broadcast(duration))."""
    ctx.state.benchmark_calls["BroadcastFor"] += 1
    with trio.move_on_after(max(float(duration), 0.0)):
        while True:
            await ctx.clients.all.send(PUSH_TARGET, utc_now())
            ctx.state.benchmark_calls["BroadcastSent"] += 1
            # The sends only queue when the connections keep up; this lets the
            # server's other tasks (and the deadline) in between.
            await trio.lowlevel.checkpoint()


@hub_method("SendPayload(payload: any) -> void")
async def send_payload(ctx: CallContext, payload: Any) -> None:
    """Takes a payload and drops it (benchmark hub)."""
    ctx.state.benchmark_calls["SendPayload"] += 1


@hub_method("GetCurrentTime() -> string")
async def get_current_time(ctx: CallContext) -> str:
    """Returns the server's UTC time, ISO 8601 (benchmark hub; clock offsets)."""
    ctx.state.benchmark_calls["GetCurrentTime"] += 1
    return utc_now()


@hub_method("StreamTimes(delayMs: int) -> stream<string>")
async def stream_times(ctx: CallContext, delay_ms: int) -> AsyncIterator[str]:
    """Streams the server's UTC time every delayMs milliseconds (0: as fast as the
    client reads) until cancelled; counts the items (hubcli bench -s stream)."""
    calls = ctx.state.benchmark_calls
    calls["StreamTimes"] += 1
    while True:
        yield utc_now()
        calls["StreamTimesItems"] += 1
        if delay_ms > 0:
            await trio.sleep(delay_ms / 1000)
