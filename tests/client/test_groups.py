"""sole_exception: the one error in a nursery's (nested) exception group."""

from __future__ import annotations

import pytest
import trio

from hubcli._groups import sole_exception


async def _cancelled() -> trio.Cancelled:
    """A real trio.Cancelled (trio makes them only when cancelling)."""
    with trio.CancelScope() as scope:
        scope.cancel()
        try:
            await trio.lowlevel.checkpoint()
        except trio.Cancelled as cancelled:
            return cancelled
    raise AssertionError("not cancelled")


async def test_the_one_failure_among_cancellations_at_any_depth() -> None:
    boom = ValueError("boom")
    inner = BaseExceptionGroup("inner", [boom])
    nested = BaseExceptionGroup("outer", [await _cancelled(), inner])
    assert sole_exception(nested) is boom


def test_several_failures_stay_a_group() -> None:
    group = ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    assert sole_exception(group) is group


@pytest.mark.parametrize("error", [ValueError("plain"), KeyboardInterrupt()])
def test_an_error_that_is_not_a_group_is_itself(error: BaseException) -> None:
    assert sole_exception(error) is error


async def test_only_cancellations_give_the_first() -> None:
    first, second = await _cancelled(), await _cancelled()
    assert sole_exception(BaseExceptionGroup("all", [first, second])) is first
