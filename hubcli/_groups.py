"""From the exception group a trio nursery raises to the one error that matters."""

from __future__ import annotations

import trio


def sole_exception(error: BaseException) -> BaseException:
    """The one exception that `error`, a possibly nested group, carries besides
    trio.Cancelled; the group itself when several failed (there is no one error
    to report then). An error that is not a group is returned as it is."""
    leaves: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            leaves.append(error)

    collect(error)
    failures = [leaf for leaf in leaves if not isinstance(leaf, trio.Cancelled)]
    if len(failures) == 1:
        return failures[0]
    if not failures and leaves:
        return leaves[0]
    return error
