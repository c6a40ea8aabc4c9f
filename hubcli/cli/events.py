"""Printing what the hub invokes on the client: for `listen`, and beside a call
(`invoke`, `stream` and `upload` with --on)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from hubcli.client import EventStream

    from .output import Output

T = TypeVar("T")

ALL_TARGETS: Final = "*"


async def print_events(
    output: Output,
    events: EventStream[Any],
    count: int | None,
    *,
    after_reconnect: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Print each event as it arrives (a received frame's in one write); stop after
    `count` of them. Raises the connection's error once it ends, after printing
    every event it delivered; when cancelled (a signal, --max-time), what was
    received is still printed, within the clean-up time.

    Lifecycle records (a reconnect) are printed under -J; after a Reconnected,
    `after_reconnect` runs before anything that came after it is printed."""
    import trio

    from hubcli.client import Event

    from .startup import collect_after_reconnect

    remaining = count
    if remaining == 0:
        return
    try:
        async for received in events.batches():
            start = 0
            for index, item in enumerate(received):
                if type(item) is Event:
                    continue
                remaining = await _print_some(output, received[start:index], remaining)
                start = index + 1
                if remaining == 0:
                    return
                await output.lifecycle(item)
                if type(item).__name__ == "Reconnected":
                    collect_after_reconnect()
                    if after_reconnect is not None:
                        await after_reconnect()
            remaining = await _print_some(output, received[start:], remaining)
            if remaining == 0:
                return
    except trio.Cancelled:
        from hubcli.client import Event

        held = [event for event in events.held() if type(event) is Event]
        if remaining is not None:
            held = held[:remaining]
        # Received is received: printed even now, unless the clean-up is cut short.
        from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS

        with trio.CancelScope(shield=True) as flushing:
            flushing.deadline = trio.current_time() + DEFAULT_CLOSE_TIMEOUT_SECONDS
            output.writer.on_abort(flushing.cancel)
            await output.events(held)
        raise


async def _print_some(output: Output, events: list[Any], remaining: int | None) -> int | None:
    """Print `events`, no more than `remaining` of them; what remains after."""
    batch = events if remaining is None else events[:remaining]
    if batch:
        await output.events(batch)
    return None if remaining is None else remaining - len(batch)


def targets_of(on: list[str] | None) -> tuple[str, ...] | None:
    """--on TARGET values: None for none, () for every target ('*')."""
    if not on:
        return None
    if ALL_TARGETS in on:
        return ()
    return tuple(on)


async def with_events_beside(
    output: Output, events: EventStream[Any] | None, call: Callable[[], Awaitable[T]]
) -> T:
    """Run `call` while printing the events that arrive meanwhile; those still
    held when it ends are printed before it returns (and so before its result)."""
    if events is None:
        return await call()
    import trio

    from hubcli.errors import HubcliError

    results: list[T] = []
    failures: list[HubcliError] = []

    async def run_call() -> None:
        try:
            results.append(await call())
        finally:
            events.finish()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_call)
        try:
            async for batch in events.batches():
                await output.events(batch)
        except HubcliError as error:
            # The connection's end fails the call too, which then says so alone.
            failures.append(error)
    if failures:
        raise failures[0]
    return results[0]
