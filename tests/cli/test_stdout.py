"""stdout across every command: a failing stdout exits 2, a reader gone exits 0, and
the non-blocking mode hubcli writes with never reaches an open file others share."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from .hubcli_process import HUBCLI, TIMEOUT, pipeline, run

HINT = " (results go to stdout; redirect it to a file or /dev/null)\n"
FULL = "hubcli: error: cannot write to stdout: No space left on device" + HINT

# Every command that prints, with what makes it print at least one line.
PRINTING = {
    "invoke": "invoke {url} Echo 1",
    "stream": "stream {url} Counter 3 0",
    "upload": "upload {url} UploadSummary",
    "listen": "listen -n 2 --max-time 20 {url} Notified --call 'Notify Notified 3 0'",
    "demo": "demo",
    "help": "--help",
    "command help": "invoke --help",
    "version": "--version",
    "list methods": "serve --list-methods",
}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("command", PRINTING.values(), ids=PRINTING.keys())
def test_every_command_into_a_full_disk_exits_2(shared_hub_server: str, command: str) -> None:
    line = command.format(url=shared_hub_server)
    result = pipeline(f"printf 'a\\n' | hubcli {line} > /dev/full")
    assert (result.returncode, result.stderr) == (2, FULL)


@pytest.mark.parametrize("command", PRINTING.values(), ids=PRINTING.keys())
def test_every_command_into_a_closed_pipe_exits_0(shared_hub_server: str, command: str) -> None:
    line = command.format(url=shared_hub_server)
    result = pipeline(f"printf 'a\\n' | hubcli {line} | head -c0")
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("command", PRINTING.values(), ids=PRINTING.keys())
def test_every_command_with_stdout_closed_exits_2(shared_hub_server: str, command: str) -> None:
    line = command.format(url=shared_hub_server)
    result = pipeline(f"printf 'a\\n' | hubcli {line} >&-")
    assert (result.returncode, result.stderr) == (
        2,
        "hubcli: error: cannot write to stdout: it is closed" + HINT,
    )


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("--version >&-", 2),
        ("invoke --help >&-", 2),
        ("invoke --bogus", 2),
        ("invoke {url} Echo 1 >&-", 2),
        ("invoke {url} Echo 1 > /dev/null", 0),
    ],
)
def test_a_closed_stderr_changes_no_exit_status(
    shared_hub_server: str, line: str, status: int
) -> None:
    # Nowhere to say what went wrong: the status says it alone (it was 1 when
    # stdout was closed too, from writing the message to a missing stderr).
    result = pipeline(f"hubcli {line.format(url=shared_hub_server)} 2>&-")
    assert result.returncode == status


def test_serve_into_a_full_disk_or_a_closed_pipe_exits_2() -> None:
    # serve's one output is the URL a script needs: without it the hub is of no use.
    for redirect in ("> /dev/full", "| head -c0"):
        result = pipeline(f"hubcli serve --port 0 {redirect}")
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("hubcli: error: cannot write the hub URL to stdout")


def test_send_prints_nothing_so_a_full_disk_is_no_failure(shared_hub_server: str) -> None:
    result = pipeline(f"hubcli send {shared_hub_server} Echo 1 > /dev/full")
    assert (result.returncode, result.stderr) == (0, "")


def _blocking(fd: int) -> bool:
    return not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK


def _read_until(fd: int, wanted: bytes) -> bytes:
    seen = b""
    while wanted not in seen:
        chunk = os.read(fd, 4096)
        assert chunk, seen
        seen += chunk
    return seen


def _kill(process: subprocess.Popen[bytes]) -> None:
    # SIGKILL: nothing hubcli would restore at exit runs.
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=TIMEOUT)


def _stream_forever(url: str, stdout: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*HUBCLI, "stream", url, "Forever", "1"],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
    )


def test_a_stdout_pipe_shared_with_the_parent_stays_blocking(shared_hub_server: str) -> None:
    read_end, write_end = os.pipe()
    try:
        process = _stream_forever(shared_hub_server, write_end)
        try:
            _read_until(read_end, b"\n")
            assert _blocking(write_end)  # while hubcli writes, not only after
        finally:
            _kill(process)
        assert _blocking(write_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_stdout_terminal_shared_with_the_shell_stays_blocking(shared_hub_server: str) -> None:
    controller, terminal = pty.openpty()
    try:
        process = _stream_forever(shared_hub_server, terminal)
        try:
            _read_until(controller, b"\n")
            assert _blocking(terminal)
        finally:
            _kill(process)
        assert _blocking(terminal)
    finally:
        os.close(controller)
        os.close(terminal)


def test_a_stdout_socket_is_written_without_making_it_non_blocking(
    shared_hub_server: str,
) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        result = subprocess.run(
            [*HUBCLI, "stream", shared_hub_server, "Counter", "3", "0"],
            stdin=subprocess.DEVNULL,
            stdout=theirs,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )
        assert (result.returncode, result.stderr) == (0, b"")
        assert _read_until(ours.fileno(), b"2\n") == b"0\n1\n2\n"
        process = _stream_forever(shared_hub_server, theirs.fileno())
        try:
            _read_until(ours.fileno(), b"\n")
            assert _blocking(theirs.fileno())
        finally:
            _kill(process)
        assert _blocking(theirs.fileno())


@pytest.mark.parametrize("kind", ["pipe", "terminal"])
def test_a_shared_stdin_stays_blocking(shared_hub_server: str, kind: str) -> None:
    if kind == "pipe":
        stdin, feed = os.pipe()
    else:
        feed, stdin = pty.openpty()
    out_read, out_write = os.pipe()
    try:
        process = subprocess.Popen(
            [*HUBCLI, "upload", "--stream", shared_hub_server, "StreamEcho"],
            stdin=stdin,
            stdout=out_write,
            stderr=subprocess.DEVNULL,
        )
        try:
            os.write(feed, b"hello\n")
            _read_until(out_read, b'"hello"\n')  # hubcli is reading stdin now
            assert _blocking(stdin)
        finally:
            _kill(process)
        assert _blocking(stdin)
    finally:
        for fd in (stdin, feed, out_read, out_write):
            os.close(fd)


def test_void_and_null_print_what_the_help_says(shared_hub_server: str) -> None:
    # The built-in hub answers its void methods as ASP.NET Core does, with a null
    # result; its Void method sends a Completion without one.
    url = shared_hub_server
    help_text = " ".join(run("invoke", "--help").stdout.split())
    assert "a void method of an ASP.NET Core hub, which answers it with a null result" in (
        help_text
    )
    assert "only a completion without any result prints nothing" in help_text
    assert run("invoke", url, "JoinGroup", "g").stdout == "null\n"
    assert run("invoke", url, "Null").stdout == "null\n"
    assert run("invoke", url, "Void").stdout == ""
    assert run("invoke", "-J", url, "JoinGroup", "g").stdout == (
        '{"type":"completion","result":null}\n'
    )
    assert run("invoke", "-J", url, "Void").stdout == '{"type":"completion"}\n'
