"""binding.never_suspends: which hub methods may run in the read loop itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trio

from hubcli.server.binding import never_suspends
from hubcli.server.methods import build_methods


async def returns(value: Any) -> Any:
    return {"value": value}


async def awaits() -> None:
    await trio.sleep(0)


async def iterates(items: Any) -> int:
    total = 0
    async for item in items:
        total += item
    return total


async def enters(lock: trio.Lock) -> None:
    async with lock:
        pass


async def awaits_in_a_comprehension(values: list[Any]) -> list[Any]:
    return [await returns(value) for value in values]


async def starts_a_task(nursery: trio.Nursery) -> None:
    # The nested function's awaits are its own, run by another task.
    async def later() -> None:
        await trio.sleep(1)

    nursery.start_soon(later)


async def streams() -> AsyncIterator[int]:
    yield 1


def plain(value: Any) -> Any:
    return value


def test_only_coroutine_functions_without_any_await_never_suspend() -> None:
    assert never_suspends(returns)
    assert never_suspends(starts_a_task)
    assert not never_suspends(awaits)
    assert not never_suspends(iterates)
    assert not never_suspends(enters)
    assert not never_suspends(awaits_in_a_comprehension)
    assert not never_suspends(streams)
    assert not never_suspends(plain)


def test_echo_runs_inline_and_a_client_result_does_not() -> None:
    methods = build_methods()
    assert methods["echo"].never_suspends
    # It awaits the client's answer: it needs a task of its own, or it would wait
    # on the read loop that brings the answer.
    assert not methods["clientresult"].never_suspends
    assert not any(method.never_suspends for method in methods.values() if method.streaming)
