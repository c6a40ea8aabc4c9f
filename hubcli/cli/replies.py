"""Answers to the hub's client-result requests: `--reply` and `--reply-exec`.

`--reply TARGET=JSON` answers every request for TARGET with a fixed value (the
ARG rule: a JSON literal, or else a string). `--reply-exec TARGET=COMMAND` runs
COMMAND through /bin/sh for each request, with the request's arguments as one
JSON array on its stdin: its stdout, parsed as JSON, is the result (empty: no
result). What the server sent reaches COMMAND on stdin only, never in its command
line or environment, so a hostile hub cannot inject shell syntax. A non-zero exit,
output that is not JSON, or no answer within the reply timeout is an error
Completion carrying the last line COMMAND wrote to stderr (or what happened).
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .arguments import parse_arguments
from .errors import UsageError

if TYPE_CHECKING:
    from hubcli.client.pushes import Handler

    from .output import Formatter

logger: Final = logging.getLogger("hubcli")

# Reply commands that may run at once; more requests wait their turn (within
# their reply timeout): a burst of requests must not become a burst of processes.
MAX_REPLY_PROCESSES: Final = 8
DEFAULT_REPLY_TIMEOUT: Final = 30.0


class ReplyFailed(Exception):
    """A reply command that did not answer; the message is what the hub is told."""


@dataclass(frozen=True, slots=True)
class Reply:
    target: str
    value: Any = None
    command: str | None = None


def _split(text: str, option: str) -> tuple[str, str]:
    target, separator, rest = text.partition("=")
    target = target.strip()
    if not separator or not target:
        example = "Target=42" if option == "--reply" else "Target='./answer.sh'"
        raise UsageError(f"{option} {text!r}: expected TARGET=...", hint=f"e.g. {option} {example}")
    return target, rest


def parse_replies(
    fixed: list[str] | None, commands: list[str] | None, *, strict: bool
) -> list[Reply]:
    replies: list[Reply] = []
    for text in fixed or []:
        target, value_text = _split(text, "--reply")
        (value,), _ = parse_arguments([value_text], None, strict=strict)
        replies.append(Reply(target, value=value))
    for text in commands or []:
        target, command = _split(text, "--reply-exec")
        if not command.strip():
            raise UsageError(f"--reply-exec {text!r}: the COMMAND is empty")
        replies.append(Reply(target, command=command))
    seen: set[str] = set()
    for reply in replies:
        key = reply.target.lower()
        if key in seen:
            raise UsageError(
                f"more than one reply for {reply.target!r}",
                hint="targets match case-insensitively; give each one reply",
            )
        seen.add(key)
    return replies


def _last_line(text: bytes) -> str:
    lines = [line.strip() for line in text.decode("utf-8", "replace").splitlines()]
    return next((line for line in reversed(lines) if line), "")


def reply_handlers(
    replies: list[Reply], timeout: float, formatter: Formatter
) -> dict[str, Handler]:
    import trio

    from hubcli.client import ClientResult

    processes = trio.CapacityLimiter(MAX_REPLY_PROCESSES)

    def fixed(reply: Reply) -> Handler:
        def answer(*arguments: Any) -> ClientResult:
            logger.info("replied to %s with the --reply value", reply.target)
            return ClientResult(reply.value)

        return answer

    def command(reply: Reply) -> Handler:
        assert reply.command is not None
        shell_command: str = reply.command

        async def kill(process: trio.Process) -> None:
            process.send_signal(signal.SIGKILL)

        async def answer(*arguments: Any) -> ClientResult | None:
            stdin = formatter.json(list(arguments)) + b"\n"
            with trio.move_on_after(timeout) as waiting:
                async with processes:
                    done = await trio.run_process(
                        ["/bin/sh", "-c", shell_command],
                        stdin=stdin,
                        capture_stdout=True,
                        capture_stderr=True,
                        check=False,
                        deliver_cancel=kill,
                    )
            if waiting.cancelled_caught:
                raise ReplyFailed(f"The reply command did not answer within {timeout:g} s.")
            problem = _last_line(done.stderr)
            if done.returncode != 0:
                status = (
                    f"killed by signal {-done.returncode}"
                    if done.returncode < 0
                    else f"exit status {done.returncode}"
                )
                raise ReplyFailed(problem or f"The reply command failed ({status}).")
            output = done.stdout.strip()
            if not output:
                logger.info("the reply command for %s printed nothing: no result", reply.target)
                return None
            from hubcli.protocol import jsonvalues
            from hubcli.protocol.errors import ProtocolError

            try:
                value = jsonvalues.loads(output)
            except ProtocolError:
                raise ReplyFailed(problem or "The reply command's output is not JSON.") from None
            logger.info("replied to %s with the reply command's output", reply.target)
            return ClientResult(value)

        return answer

    return {
        reply.target: fixed(reply) if reply.command is None else command(reply) for reply in replies
    }
