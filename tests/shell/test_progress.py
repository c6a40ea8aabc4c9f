"""The progress line: on a terminal's stderr only, never on stdout, throttled, wiped.

The end-to-end tests give the real `hubcli` a pseudo-terminal as stderr (and a
pipe as stdout), as a person running `hubcli stream ... > file` has.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

import pytest

from hubcli.cli import progress as progress_module
from hubcli.cli.progress import Progress

HUBCLI = [sys.executable, "-m", "hubcli"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _drawn(read_fd: int) -> bytes:
    os.set_blocking(read_fd, False)
    try:
        return os.read(read_fd, 1 << 20)
    except BlockingIOError:
        return b""


def test_progress_is_throttled_and_wiped() -> None:
    read_fd, write_fd = os.pipe()
    clock = FakeClock()
    progress = Progress(write_fd, clock)
    progress.add_received(10)
    clock.now += 0.4
    progress.add_received(10)
    assert _drawn(read_fd) == b""  # nothing for a command that ends within half a second
    # Ten seconds of a batch every millisecond: at most ten lines a second.
    for _ in range(10_000):
        clock.now += 0.001
        progress.add_received(3)
    lines = _drawn(read_fd).split(b"\r")[1:]
    assert 90 <= len(lines) <= 101
    last = lines[-1].decode()
    assert last.startswith("hubcli: received ")
    assert 29_700 <= int(last.split()[2].replace(",", "")) <= 30_020
    assert last.rstrip().endswith("/s) in 0:10")
    progress.clear()
    wiped = _drawn(read_fd)
    assert wiped.startswith(b"\r")
    assert wiped.endswith(b"\r")
    assert wiped.strip() == b""
    os.close(read_fd)
    os.close(write_fd)


def test_progress_line_counts_sent_and_received() -> None:
    clock = FakeClock()
    progress = Progress(os.open(os.devnull, os.O_WRONLY), clock)
    progress.add_sent(5)
    progress.add_received(4)
    clock.now += 65
    assert progress.line(clock.now) == "hubcli: sent 5, received 4 items (0/s) in 1:05"


def test_progress_is_off_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "isatty", lambda fd: fd == 2)
    assert progress_module.wanted(quiet=False, verbosity=0, output_on_stdout=True)
    assert not progress_module.wanted(quiet=True, verbosity=0, output_on_stdout=True)
    assert not progress_module.wanted(quiet=False, verbosity=1, output_on_stdout=True)
    monkeypatch.setattr(os, "isatty", lambda fd: True)
    # stdout on the same terminal: the items themselves show the progress.
    assert not progress_module.wanted(quiet=False, verbosity=0, output_on_stdout=True)
    assert progress_module.wanted(quiet=False, verbosity=0, output_on_stdout=False)
    monkeypatch.setattr(os, "isatty", lambda fd: False)
    assert not progress_module.wanted(quiet=False, verbosity=0, output_on_stdout=False)


@contextmanager
def _terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal 100 columns wide: (controller fd, terminal fd)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        yield controller, terminal
    finally:
        for fd in (controller, terminal):
            with suppress(OSError):  # already closed once hubcli had it
                os.close(fd)


def _read_terminal(controller: int) -> bytes:
    """Everything written to the terminal until every writer closed it."""
    data = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the last writer is gone
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _run_with_terminal_stderr(
    args: list[str],
    stdin_lines: Iterable[bytes] | None = None,
    *,
    until: bytes = b"",
    written: list[bytes] | None = None,
) -> tuple[int, bytes, bytes]:
    """Run hubcli with stderr on a terminal and stdout on a pipe: (status, stdout, tty).

    stdin_lines go one every 50 ms, like a slow producer, until they run out or,
    with `until`, until the terminal shows it (a progress line is drawn only as
    items go out, so the producer must outlast the first draw however slowly
    hubcli starts); `written` gets the lines that went. The terminal and stdout
    are drained all along, so hubcli never waits on them.
    """
    with _terminal() as (controller, terminal):
        process = subprocess.Popen(
            [*HUBCLI, *args],
            stdin=subprocess.PIPE if stdin_lines is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        assert process.stdout is not None
        pending = iter(stdin_lines or ())
        outputs = {controller: bytearray(), process.stdout.fileno(): bytearray()}
        open_fds = set(outputs)
        deadline = time.monotonic() + 60
        while open_fds and time.monotonic() < deadline:
            if process.stdin is not None:
                line = None if until and until in outputs[controller] else next(pending, None)
                if line is None:
                    process.stdin.close()
                    process.stdin = None
                else:
                    process.stdin.write(line)
                    process.stdin.flush()
                    if written is not None:
                        written.append(line)
            readable, _, _ = select.select(list(open_fds), [], [], 0.05)
            for fd in readable:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO on the terminal: its last writer is gone
                    chunk = b""
                if chunk:
                    outputs[fd] += chunk
                else:
                    open_fds.discard(fd)
        status = process.wait(timeout=10)
    return status, bytes(outputs[process.stdout.fileno()]), bytes(outputs[controller])


def test_stream_progress_on_a_terminal_stderr(shared_hub_server: str) -> None:
    status, stdout, terminal = _run_with_terminal_stderr(
        ["stream", shared_hub_server, "Counter", "15", "100"]
    )
    assert status == 0, terminal
    assert stdout.decode().splitlines() == [str(i) for i in range(15)]  # data only
    text = terminal.decode()
    assert "hubcli: received " in text
    assert ") in 0:0" in text
    assert text.startswith("\r")
    assert text.endswith("\r")
    assert text.rsplit("\r", 2)[-2].strip() == ""  # wiped at the end
    assert "\x1b" not in text  # no escape sequences, so no colour either


def test_upload_progress_counts_sent_items(shared_hub_server: str) -> None:
    written: list[bytes] = []
    status, stdout, terminal = _run_with_terminal_stderr(
        ["upload", "--json", shared_hub_server, "UploadSum"],
        (b"%d\n" % i for i in itertools.count()),
        until=b"hubcli: sent ",
        written=written,
    )
    assert status == 0, terminal
    assert stdout == b"%d\n" % sum(int(line) for line in written)
    assert "hubcli: sent " in terminal.decode()


def test_no_progress_with_quiet(shared_hub_server: str) -> None:
    status, stdout, terminal = _run_with_terminal_stderr(
        ["stream", "-q", shared_hub_server, "Counter", "8", "100"]
    )
    assert status == 0
    assert len(stdout.splitlines()) == 8
    assert terminal == b""


def test_no_progress_when_stderr_is_a_pipe(shared_hub_server: str) -> None:
    result = subprocess.run(
        [*HUBCLI, "stream", shared_hub_server, "Counter", "8", "100"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == [str(i) for i in range(8)]
    assert result.stderr == b""


def test_no_progress_when_stdout_is_the_terminal_too(shared_hub_server: str) -> None:
    with _terminal() as (controller, terminal):
        process = subprocess.Popen(
            # Compact and plain: this is about the progress line, not the styling.
            [
                *HUBCLI,
                "stream",
                "--compact",
                "--no-color",
                shared_hub_server,
                "Counter",
                "8",
                "100",
            ],
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
        )
        os.close(terminal)
        text = _read_terminal(controller).decode()
        assert process.wait(timeout=60) == 0
    assert text.split() == [str(i) for i in range(8)]
