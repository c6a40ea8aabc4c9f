"""`--call 'METHOD [ARG...]'`: hub calls a long-lived command makes on connecting.

The words are split as a POSIX shell splits them, and each ARG follows the ARG
rule of `invoke` (a JSON literal, or else a string). This is how a script joins a
group or subscribes before it listens: `--call 'JoinGroup room1'`.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .arguments import describe_arguments, parse_arguments
from .errors import UsageError

if TYPE_CHECKING:
    from hubcli.client import Hub

logger: Final = logging.getLogger("hubcli")


@dataclass(frozen=True, slots=True)
class HubCall:
    text: str  # as the user wrote it, for messages
    method: str
    arguments: list[Any]


def parse_calls(texts: list[str] | None, *, strict: bool) -> list[HubCall]:
    calls = []
    for text in texts or []:
        try:
            words = shlex.split(text)
        except ValueError as error:
            raise UsageError(f"--call {text!r}: {error}", hint="quote as in a shell") from None
        if not words or not words[0].strip():
            raise UsageError(
                f"--call {text!r} needs a METHOD", hint="e.g. --call 'JoinGroup room1'"
            )
        method, *args = words
        values, _ = parse_arguments(args, None, strict=strict)
        calls.append(HubCall(text, method, values))
    return calls


async def run_calls(hub: Hub, calls: list[HubCall]) -> None:
    """Invoke each call in order; a hub error ends it all (HubError, exit 3)."""
    from hubcli.client import HubError
    from hubcli.protocol.messages import CompletionKind

    for call in calls:
        logger.info("--call %s %s", call.method, describe_arguments(call.arguments))
        completion = await hub.invoke_completion(call.method, *call.arguments)
        if completion.kind is CompletionKind.ERROR:
            raise HubError(f"--call {call.text!r} failed: {completion.error}")
        logger.info("--call %s: done", call.method)
