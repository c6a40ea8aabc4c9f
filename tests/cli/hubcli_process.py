"""Run the real `hubcli` as a subprocess, alone or in a shell pipeline."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

HUBCLI: Final = [sys.executable, "-m", "hubcli"]
TIMEOUT: Final = 60.0


def run(
    *args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    result = subprocess.run(
        [*HUBCLI, *args],
        input=data,
        stdin=None if data is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def run_all(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Like `run` for each of `commands`, all at once (they share no state)."""
    processes = [
        subprocess.Popen(
            [*HUBCLI, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for args in commands
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=TIMEOUT)
        results.append(
            subprocess.CompletedProcess(
                process.args,
                process.returncode,
                out.decode("utf-8", "replace"),
                err.decode("utf-8", "replace"),
            )
        )
    return results


def pipeline(script: str) -> subprocess.CompletedProcess[str]:
    """Run a bash pipeline with pipefail; `hubcli` in it is this checkout's."""
    hubcli = " ".join(shlex.quote(part) for part in HUBCLI)
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", f'hubcli() {{ {hubcli} "$@"; }}\n{script}'],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def start(*args: str, stdout: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    # Unbuffered: what a test reads line by line and what communicate() reads later
    # must come from the same pipe with nothing held in between.
    return subprocess.Popen(
        [*HUBCLI, *args],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        bufsize=0,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> bool:
    """Poll `condition` until true or `timeout`: for states only /proc can show."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def proc_status(pid: int, field: str) -> int:
    """A kB field of /proc/PID/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def proc_io(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)
