"""When to connect again: automatic reconnect policies and first-connect retries.

A policy maps the number of attempts made so far to the delay before the next one,
or None to give up. The default is the official clients': 0, 2, 10 and 30 seconds,
then give up. `ReconnectPolicy.forever()` never gives up: exponential backoff
capped at `max_delay`, with jitter so that many clients dropped at once do not all
come back in the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from hubcli.errors import InvalidArgumentError

DEFAULT_DELAYS: Final = (0.0, 2.0, 10.0, 30.0)
DEFAULT_MAX_DELAY: Final = 30.0
# The spread of a forever policy's delays: each is drawn within +-20% of its step.
JITTER: Final = 0.2


@dataclass(frozen=True)
class ReconnectPolicy:
    """`delays`: seconds before each attempt, in order (then give up), unless
    `forever`: then exponential backoff (0, 1, 2, 4, ... seconds, capped at
    `max_delay`, with jitter) without end."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    forever_after: bool = False
    max_delay: float = DEFAULT_MAX_DELAY
    _random: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if any(delay < 0 for delay in self.delays) or self.max_delay < 0:
            raise InvalidArgumentError("reconnect delays must be 0 or more seconds")

    @classmethod
    def of(cls, delays: Sequence[float]) -> ReconnectPolicy:
        """Wait `delays[n]` seconds before attempt n + 1; give up after the last."""
        return cls(delays=tuple(delays))

    @classmethod
    def forever(cls, max_delay: float = DEFAULT_MAX_DELAY) -> ReconnectPolicy:
        """Never give up: exponential backoff capped at `max_delay`, with jitter."""
        return cls(delays=(), forever_after=True, max_delay=max_delay)

    def delay(self, attempts: int) -> float | None:
        """Seconds to wait before attempt number `attempts + 1`; None: give up."""
        if attempts < len(self.delays):
            return self.delays[attempts]
        if not self.forever_after:
            return None
        step = 0.0 if attempts == 0 else min(2.0 ** (attempts - 1), self.max_delay)
        return min(step * self._random.uniform(1 - JITTER, 1 + JITTER), self.max_delay)


def retry_delay(retry: int) -> float:
    """Backoff before first-connect retry number `retry` (1, 2, ...): 0.25 s doubling,
    capped at 5 s (a hub starting beside a CI job is usually up within seconds)."""
    return min(0.25 * 2.0 ** (retry - 1), 5.0)
