"""Run the real `hubcli` commands against a hostile server and judge how they ended.

Every command runs as its own process with small time limits, all of them at once
(each on its own negotiated connection), from inside the trio run that serves them.
`problems` lists what broke hubcli's promises: an exit status outside the documented
set (1 is always a bug), anything on stderr but `hubcli: ...` lines or a control
character there (a server's text reaching the terminal as it is), not exactly one
`hubcli: error:` line on failure, a line on stdout that is not JSON, or a run past
its time limits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, replace
from typing import Final

import trio

from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS

HUBCLI: Final = [sys.executable, "-m", "hubcli"]
# Exit statuses a server's behaviour may cause (README, "Exit codes"); 1 is a bug,
# 2 is the user's mistake, 130 and 143 are signals this harness never sends.
DOCUMENTED: Final = frozenset({0, 3, 4, 5, 6, 7, 124})


@dataclass(frozen=True)
class Limits:
    """The time limits (and message size limit) a run is given."""

    connect_timeout: float = 1.0
    max_time: float = 1.5
    idle_timeout: float | None = None
    max_message_size: int = 4096
    # After --max-time: the clean-up's own limit, then the interpreter's exit, on
    # a shared machine whose two cores run several of these at once.
    slack: float = 2.5

    @property
    def time_limit(self) -> float:
        return self.max_time + DEFAULT_CLOSE_TIMEOUT_SECONDS + self.slack

    def flags(self) -> list[str]:
        flags = [
            "--connect-timeout",
            f"{self.connect_timeout:g}",
            "--max-time",
            f"{self.max_time:g}",
            "--max-message-size",
            str(self.max_message_size),
        ]
        if self.idle_timeout is not None:
            flags += ["--idle-timeout", f"{self.idle_timeout:g}"]
        return flags


# Small enough for a fast suite; a server that stalls costs each run 1.5 s.
FAST: Final = Limits()
# For outcomes that must not be a time-out, on a machine that may be busy.
PATIENT: Final = Limits(connect_timeout=20, max_time=30)

# A command that starts like the others and fails at once: nothing listens on port 1.
STARTUP_PROBE: Final = ["invoke", "--connect-timeout", "1", "http://127.0.0.1:1/hub", "Echo"]

# Each command with the hub arguments and stdin it runs with.
COMMANDS: Final[dict[str, tuple[list[str], bytes | None]]] = {
    "invoke": (["Echo", "1"], None),
    "stream": (["Counter", "3", "0"], None),
    "send": (["Broadcast", "hi"], None),
    "upload": (["--json", "UploadSum"], b"1\n2\n3\n"),
    "listen": (["-n", "3"], None),
}


@dataclass(frozen=True)
class Outcome:
    argv: list[str]
    limits: Limits
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float
    # How long hubcli took, at the same moment, to start and fail at once: on a
    # starved machine the interpreter's start-up alone can outlast --max-time
    # (which counts from it), and that is load, not a hang.
    startup_seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        found = []
        limit, max_time = self.limits.time_limit + self.startup_seconds, self.limits.max_time
        if self.returncode is None:
            return [f"still running after {limit:g} s (--max-time {max_time:g})"]
        if self.returncode not in DOCUMENTED:
            found.append(f"exit status {self.returncode}")
        if self.seconds > limit:
            found.append(
                f"took {self.seconds:.1f} s (--max-time {max_time:g},"
                f" start-up {self.startup_seconds:.1f} s)"
            )
        lines = self.stderr.splitlines()
        errors = [line for line in lines if line.startswith("hubcli: error: ")]
        if self.returncode == 0 and errors:
            found.append("exit 0 with an error line")
        if self.returncode != 0 and len(errors) != 1:
            found.append(f"{len(errors)} 'hubcli: error:' lines")
        if any(not line.startswith("hubcli: ") for line in lines):
            found.append("stderr holds more than hubcli's lines")
        if any((ch < " " and ch not in "\t\n") or "\x7f" <= ch <= "\x9f" for ch in self.stderr):
            found.append("control characters on stderr")
        if "internal error" in self.stderr or "Traceback" in self.stderr:
            found.append("an internal error")
        for line in self.stdout.splitlines():
            try:
                json.loads(line, parse_constant=_no_constant)
            except ValueError:
                found.append(f"stdout line not JSON: {line[:80]!r}")
                break
        return found

    def describe(self) -> str:
        status = "killed" if self.returncode is None else f"exit {self.returncode}"
        command = " ".join(self.argv[2:])
        return (
            f"$ {command}\n  {status} after {self.seconds:.2f} s\n"
            f"  stdout: {self.stdout[-500:]!r}\n  stderr: {self.stderr[-1500:]!r}"
        )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def argv_for(command: str, url: str, transport: str, protocol: str, limits: Limits) -> list[str]:
    arguments, _ = COMMANDS[command]
    options = ["-t", transport, "-p", protocol, *limits.flags()]
    return [*HUBCLI, command, *options, url, *arguments]


async def run_hubcli(argv: list[str], limits: Limits, stdin: bytes | None = None) -> Outcome:
    """Run one hubcli process to its end, or kill it once past its time limit."""
    started = time.monotonic()
    result = None
    # Without proxies: the server is on 127.0.0.1, and the run's environment is not
    # the subject here.
    env = {name: value for name, value in os.environ.items() if not name.lower().endswith("_proxy")}
    with trio.move_on_after(2 * limits.time_limit + 5):
        result = await trio.run_process(
            argv,
            stdin=stdin if stdin is not None else b"",
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env=env,
        )
    seconds = time.monotonic() - started
    if result is None:
        return Outcome(argv, limits, None, "", "", seconds)
    return Outcome(
        argv,
        limits,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
        seconds,
    )


async def run_commands(
    url: str, transport: str, protocol: str, commands: list[str], limits: Limits = FAST
) -> list[Outcome]:
    """Every command at once, each its own process and connection, beside a probe
    that measures what start-up costs on the machine at that moment."""
    outcomes: list[Outcome | None] = [None] * len(commands)
    probes: list[Outcome] = []

    async def run_one(index: int, command: str) -> None:
        argv = argv_for(command, url, transport, protocol, limits)
        outcomes[index] = await run_hubcli(argv, limits, COMMANDS[command][1])

    async def probe() -> None:
        probes.append(await run_hubcli([*HUBCLI, *STARTUP_PROBE], limits))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(probe)
        for index, command in enumerate(commands):
            nursery.start_soon(run_one, index, command)
    startup = probes[0].seconds
    return [replace(outcome, startup_seconds=startup) for outcome in outcomes if outcome]


def report(script_text: str, log: list[str], outcomes: list[Outcome]) -> str:
    broken = [outcome for outcome in outcomes if outcome.problems]
    lines = [f"script: {script_text}"]
    for outcome in broken:
        lines.append(f"problems: {', '.join(outcome.problems)}")
        lines.append(outcome.describe())
    lines.append("server: " + " | ".join(log[-30:]))
    return "\n".join(lines)
