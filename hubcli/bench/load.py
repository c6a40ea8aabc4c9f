"""The load of `hubcli bench`: connections on hubcli's client, driven by trio.

Every connection is made first (at most `connect_concurrency` at a time, each
timed), then all start together, as crank's client does. The first `warmup`
seconds are run but not measured; then `duration` seconds are. Sends stop at the
end; the calls still in flight finish (within `grace`) and count, so the report's
requests are what the server answered.

Closed loop: each connection calls again as soon as its answer is back. Open
loop (`rate`): each connection has a schedule, the total `rate` spread evenly
over the connections, and a call's latency runs from the time it was due, not
from when it went out: a stalled server then shows in the latency instead of
silently lowering the rate (coordinated omission, as wrk2 corrects it). A call
that goes out more than LATE_AFTER behind its schedule counts as a late send.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import trio

from hubcli.errors import HubcliError, HubError
from hubcli.protocol.datetimes import sent_at, utc_now

from .metrics import RunResult

if TYPE_CHECKING:
    from hubcli.client import Hub

LATE_AFTER: Final = 0.001

# How a call that outlasted the plan's call_timeout is counted among the errors.
CALL_TIMEOUT: Final = "CallTimeout"
SCENARIOS: Final = ("echo", "echoAll", "broadcast", "echoIdle", "stream", "connect")
# The client method the benchmark hub's pushes call (EchoAll, Broadcast).
PUSH_TARGET: Final = "send"
# How long the receivers of pushes keep listening after sending stops.
PUSH_DRAIN: Final = 0.5

Connect = Callable[[], AbstractAsyncContextManager["Hub"]]


@dataclass(frozen=True, slots=True)
class LoadPlan:
    scenario: str = "echo"
    connections: int = 10
    duration: float = 10.0
    warmup: float = 0.0
    rate: float | None = None  # requests/s in all; None: closed loop
    method: str = "Echo"
    # None: the current time, as the benchmark hub's methods take (a DateTime);
    # else a string of this many characters.
    payload_size: int | None = None
    # Fixed arguments instead of the payload (--args), for any hub's methods.
    arguments: tuple[Any, ...] | None = None
    grace: float = 5.0
    # A call without its answer after this many seconds is an error (CALL_TIMEOUT),
    # and its connection goes on; None: no limit.
    call_timeout: float | None = None
    connect_concurrency: int = 100
    # broadcast: whether this process's first connection starts the broadcast
    # (with --processes, only the first process's does).
    trigger: bool = True

    def payload(self) -> Callable[[], tuple[Any, ...]]:
        """What gives each call's arguments."""
        if self.arguments is not None:
            arguments = self.arguments
            return lambda: arguments
        if self.payload_size is None:
            return lambda: (utc_now(),)
        text = ("x" * self.payload_size,)
        return lambda: text


async def clock_offset(hub: Hub, samples: int = 9) -> float:
    """How far the server's clock is ahead of ours, in seconds, as crank estimates
    it: GetCurrentTime `samples` times, each offset taken at the call's midpoint,
    the middle three averaged (the extremes are the calls that queued)."""
    offsets = []
    for _ in range(samples):
        before = time.time()
        server = sent_at(await hub.invoke("GetCurrentTime"))
        after = time.time()
        if server is not None:
            offsets.append(server - (before + after) / 2)
    if not offsets:
        return 0.0
    offsets.sort()
    middle = offsets[len(offsets) // 2 - 1 : len(offsets) // 2 + 2] or offsets
    return sum(middle) / len(middle)


def peak_memory() -> float:
    """This process's peak resident memory so far, MiB (Linux counts KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def error_kind(error: BaseException) -> str:
    """How the report names an error: its class (HubError, ConnectionClosedError)."""
    return type(error).__name__


@dataclass(slots=True)
class _Window:
    """The run's clock: when measuring starts, and when sending stops."""

    measure_from: float
    end: float


class Load:
    """One run of a plan; `result` fills in as it goes (the live line reads it)."""

    def __init__(self, plan: LoadPlan, connect: Connect) -> None:
        self.plan = plan
        self._connect = connect
        self.result = RunResult(plan.scenario, plan.connections, warmup=plan.warmup, rate=plan.rate)
        self.first_connect_error: BaseException | None = None
        self.started_at: float | None = None
        self._window: _Window | None = None
        # broadcast: the server's clock ahead of ours (seconds), from connection 0.
        self.offset: float | None = None

    @property
    def window(self) -> _Window | None:
        return self._window

    async def run(self) -> RunResult:
        plan = self.plan
        started = trio.Event()
        pending = plan.connections
        all_tried = trio.Event()
        limiter = trio.CapacityLimiter(max(plan.connect_concurrency, 1))

        def tried() -> None:
            nonlocal pending
            pending -= 1
            if pending == 0:
                all_tried.set()

        if plan.scenario == "connect":
            return await self._run_connects()
        async with trio.open_nursery() as nursery:
            for index in range(plan.connections):
                nursery.start_soon(self._connection, index, limiter, tried, started)
            if plan.connections == 0:
                all_tried.set()
            await all_tried.wait()
            if self.result.reached == 0:
                nursery.cancel_scope.cancel()  # nothing to run the load on
                return self.result
            now = trio.current_time()
            self.started_at = now
            self._window = _Window(now + plan.warmup, now + plan.warmup + plan.duration)
            started.set()
            await trio.sleep_until(self._window.measure_from)
            cpu = time.process_time()
            await trio.sleep_until(self._window.end)
            self.result.cpu = time.process_time() - cpu
            self.result.memory = peak_memory()
            # Sending has stopped; the calls in flight get `grace` to finish.
            nursery.cancel_scope.deadline = self._window.end + plan.grace
        if self._window is not None:
            self.result.duration = plan.duration
        return self.result

    async def _run_connects(self) -> RunResult:
        plan = self.plan
        now = trio.current_time()
        self.started_at = now
        window = self._window = _Window(now + plan.warmup, now + plan.warmup + plan.duration)
        pending = plan.connections
        all_tried = trio.Event()

        def tried() -> None:
            nonlocal pending
            pending -= 1
            if pending == 0:
                all_tried.set()

        async with trio.open_nursery() as nursery:
            for _ in range(plan.connections):
                nursery.start_soon(self._connect_loop, window, tried)
            await all_tried.wait()
            if self.result.reached == 0:
                nursery.cancel_scope.cancel()  # nothing could connect
                return self.result
            await trio.sleep_until(window.measure_from)
            cpu = time.process_time()
            await trio.sleep_until(window.end)
            self.result.cpu = time.process_time() - cpu
            self.result.memory = peak_memory()
            nursery.cancel_scope.deadline = window.end + plan.grace
        self.result.duration = plan.duration
        return self.result

    async def _connection(
        self,
        index: int,
        limiter: trio.CapacityLimiter,
        tried: Callable[[], None],
        started: trio.Event,
    ) -> None:
        result = self.result
        connected = False
        # Held while connecting only: a run's connections stay open for all of it.
        await limiter.acquire()
        held = True
        try:
            begun = trio.current_time()
            async with self._connect() as hub:
                limiter.release()
                held = False
                connected = True
                result.connect.record(trio.current_time() - begun)
                result.reached += 1
                if index == 0 and self.plan.scenario == "broadcast":
                    self.offset = await clock_offset(hub)
                tried()
                await started.wait()
                assert self._window is not None
                await self._drive(hub, index, self._window)
        except (HubcliError, OSError) as error:
            if not connected:
                if self.first_connect_error is None:
                    self.first_connect_error = error
                result.errors[f"connect {error_kind(error)}"] += 1
                tried()
            elif self._window is None or trio.current_time() < self._window.end:
                result.lost += 1
                result.errors[error_kind(error)] += 1
        finally:
            if held:
                limiter.release()

    async def _drive(self, hub: Hub, index: int, window: _Window) -> None:
        plan = self.plan
        if plan.scenario in ("echoAll", "broadcast"):
            await self._pushes(hub, index, window)
        elif plan.scenario == "stream":
            await self._stream(hub, window)
        elif plan.rate is None:
            await self._closed_loop(hub, window)
        else:
            interval = plan.connections / plan.rate
            first = self.started_at or window.measure_from
            await self._open_loop(
                hub, window, first + interval * index / plan.connections, interval
            )

    async def _pushes(self, hub: Hub, index: int, window: _Window) -> None:
        """echoAll and broadcast: every connection times the pushes it receives
        from the time in them; echoAll's connections each call EchoAll in a
        closed loop, broadcast's first connection starts one Broadcast."""
        plan = self.plan
        offset = 0.0
        if plan.scenario == "broadcast":
            offset = self.offset if self.offset is not None else 0.0
        events = hub.events(PUSH_TARGET)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._receive, events, window, offset)
            if plan.scenario == "echoAll":
                payload = plan.payload()
                while (sent := trio.current_time()) < window.end:
                    await self._call(hub, sent, window, payload(), answered=False)
            elif index == 0 and plan.trigger:
                # The benchmark hub's Broadcast(duration) pushes for that many
                # whole seconds; one more, as crank asks, outlasts the window.
                seconds = math.ceil(window.end - trio.current_time()) + 1
                await hub.send(plan.method, *(plan.arguments or (seconds,)))
            await trio.sleep_until(window.end + PUSH_DRAIN)
            nursery.cancel_scope.cancel()

    async def _stream(self, hub: Hub, window: _Window) -> None:
        """stream: one stream a connection, read until the end of the window; each
        item is a request, and its latency the gap since the item before (the
        first's: since the stream was asked for). Items of one frame arrive together."""
        result = self.result
        plan = self.plan
        last = trio.current_time()
        async with hub.stream(plan.method, *plan.payload()()) as call:
            async for batch in call.batches():
                now = trio.current_time()
                if now >= window.end:
                    break
                if now < window.measure_from:
                    result.warmup_requests += len(batch)
                    last = now
                    continue
                result.requests += len(batch)
                result.latency.record(now - last)
                for _ in range(len(batch) - 1):
                    result.latency.record(0.0)
                last = now
                second = int(now - window.measure_from)
                for _ in batch:
                    result.count_second(second)

    async def _receive(self, events: Any, window: _Window, offset: float) -> None:
        result = self.result
        async for event in events:
            arrived = time.time()
            sent = sent_at(event.arguments[0]) if event.arguments else None
            now = trio.current_time()
            if sent is None or now > window.end + PUSH_DRAIN:
                continue
            if now >= window.measure_from:
                result.requests += 1
                result.latency.record(max(arrived - (sent - offset), 0.0))
                second = int(now - window.measure_from)
                result.count_second(min(second, max(int(self.plan.duration + 0.999) - 1, 0)))
            else:
                result.warmup_requests += 1

    async def _connect_loop(self, window: _Window, tried: Callable[[], None]) -> None:
        """connect: connect, call once, close, again; the latency is the time to
        the first answer, connecting included. A loop whose first connect fails
        ends there, as a connection of the other scenarios that cannot connect."""
        result = self.result
        payload = self.plan.payload()
        first = True
        while (begun := trio.current_time()) < window.end:
            try:
                async with self._connect() as hub:
                    result.connect.record(trio.current_time() - begun)
                    if first:
                        first = False
                        result.reached += 1
                        tried()
                    with trio.move_on_after(self.plan.call_timeout or math.inf) as late:
                        await hub.invoke(self.plan.method, *payload())
                    done = trio.current_time()
            except (HubcliError, OSError) as error:
                if first:
                    if self.first_connect_error is None:
                        self.first_connect_error = error
                    result.errors[f"connect {error_kind(error)}"] += 1
                    tried()
                    return
                if begun >= window.measure_from:
                    result.errors[error_kind(error)] += 1
                continue
            if late.cancelled_caught:
                if begun >= window.measure_from:
                    result.errors[CALL_TIMEOUT] += 1
                continue
            if begun >= window.measure_from:
                result.requests += 1
                result.latency.record(done - begun)
                second = int(done - window.measure_from)
                result.count_second(min(second, max(int(self.plan.duration + 0.999) - 1, 0)))
            else:
                result.warmup_requests += 1

    async def _call(
        self,
        hub: Hub,
        due: float,
        window: _Window,
        arguments: tuple[Any, ...],
        *,
        answered: bool = True,
    ) -> None:
        result = self.result
        try:
            # Left behind, the answer is dropped when it comes; the hub may still
            # be running the call, and the connection's next calls wait for it there.
            with trio.move_on_after(self.plan.call_timeout or math.inf) as late:
                await hub.invoke(self.plan.method, *arguments)
        except HubError as error:
            if due >= window.measure_from:
                result.errors[error_kind(error)] += 1
            return
        if late.cancelled_caught:
            if due >= window.measure_from:
                result.errors[CALL_TIMEOUT] += 1
            return
        done = trio.current_time()
        if not answered:
            return  # what counts is elsewhere (the pushes it causes)
        if due >= window.measure_from:
            result.requests += 1
            result.latency.record(done - due)
            second = int(done - window.measure_from)
            result.count_second(min(second, max(int(self.plan.duration + 0.999) - 1, 0)))
        else:
            result.warmup_requests += 1

    async def _closed_loop(self, hub: Hub, window: _Window) -> None:
        payload = self.plan.payload()
        while (sent := trio.current_time()) < window.end:
            await self._call(hub, sent, window, payload())

    async def _open_loop(self, hub: Hub, window: _Window, first: float, interval: float) -> None:
        payload = self.plan.payload()
        result = self.result
        # Each due time from its index, not by adding up intervals: the sum drifts,
        # and a run of 1 s at 100/s would send 101 calls.
        calls = max(math.ceil((window.end - first) / interval - 1e-9), 0)
        for index in range(calls):
            due = first + index * interval
            now = trio.current_time()
            if now < due:
                await trio.sleep_until(due)
            elif now - due > LATE_AFTER and due >= window.measure_from:
                result.late_sends += 1
            await self._call(hub, due, window, payload())


async def run(
    plan: LoadPlan, connect: Connect, watch: Callable[[Load], Awaitable[None]] | None = None
) -> Load:
    """Run `plan`, with `watch(load)` beside it until it ends (the live line)."""
    load = Load(plan, connect)
    async with trio.open_nursery() as nursery:
        if watch is not None:
            nursery.start_soon(watch, load)
        await load.run()
        nursery.cancel_scope.cancel()
    return load
