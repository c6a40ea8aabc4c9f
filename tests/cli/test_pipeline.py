"""Pipeline behaviour: the real `hubcli` process against `hubcli serve`, in pipes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.hubcli_process import HUBCLI, pipeline, proc_status, run, start, wait_for
from tests.serverproc import HubServer


def _server_saw_cancellations(url: str, count: int) -> bool:
    result = run("invoke", url, "WaitForCancelledStreams", str(count), "10000")
    return result.returncode == 0 and int(result.stdout) >= count


def test_stream_into_jq(shared_hub_server: str, require_tool: Callable[[str], str]) -> None:
    jq = require_tool("jq")
    result = pipeline(f"hubcli stream {shared_hub_server} Counter 10 0 | {jq} -c .")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(i) for i in range(10)]


def test_endless_stream_into_head_cancels_and_exits_0(hub_server: str) -> None:
    result = pipeline(f"hubcli stream {hub_server} Forever 1 | head -n 3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0", "1", "2"]
    assert result.stderr == ""  # no traceback, no "Exception ignored"
    assert _server_saw_cancellations(hub_server, 1)


STDOUT_HINT = " (results go to stdout; redirect it to a file or /dev/null)\n"


def test_closed_stdout_is_refused_before_connecting(shared_hub_server: str) -> None:
    url = shared_hub_server
    result = pipeline(f"hubcli stream -v {url} Counter 3 0 >&-; echo $? >&2")
    # With -v, connecting would have said so: one line, then the status.
    assert (
        result.stderr == "hubcli: error: cannot write to stdout: it is closed" + STDOUT_HINT + "2\n"
    )
    # send prints nothing: a closed stdout is no reason to fail it.
    assert pipeline(f"hubcli send {url} Broadcast 1 >&-").returncode == 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_failing_stdout_cancels_the_stream_and_exits_2(hub_server: str) -> None:
    result = pipeline(f"hubcli stream {hub_server} Forever 10 > /dev/full")
    assert result.returncode == 2
    assert result.stderr == (
        "hubcli: error: cannot write to stdout: No space left on device" + STDOUT_HINT
    )
    assert _server_saw_cancellations(hub_server, 1)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("argv", ["--version", "--help", "invoke --help"])
def test_help_or_version_into_a_failing_stdout_exits_2(argv: str) -> None:
    result = pipeline(f"hubcli {argv} > /dev/full")
    assert result.returncode == 2
    assert result.stderr == (
        "hubcli: error: cannot write to stdout: No space left on device" + STDOUT_HINT
    )


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_cancels_the_stream(hub_server: str, signum: int, status: int) -> None:
    process = start("stream", hub_server, "Forever", "5")
    assert process.stdout is not None
    first = [process.stdout.readline() for _ in range(3)]
    process.send_signal(signum)
    signalled = time.monotonic()
    rest, stderr = process.communicate(timeout=30)
    assert time.monotonic() - signalled < PROMPT
    assert process.returncode == status, stderr
    lines = b"".join(first).decode().splitlines() + rest.decode().splitlines()
    # Every item received was printed whole, in order.
    assert [int(line) for line in lines] == list(range(len(lines)))
    assert b"Traceback" not in stderr
    assert _server_saw_cancellations(hub_server, 1)


def test_upload_lines_arrive_exactly(shared_hub_server: str) -> None:
    lines = "".join(f"{i}\n" for i in range(1, 100001))
    result = pipeline(f"seq 100000 | hubcli upload {shared_hub_server} UploadSummary")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary == {"count": 100000, "checksum": hashlib.sha256(lines.encode()).hexdigest()}


def test_upload_invalid_json_line_ends_stream_with_error(shared_hub_server: str) -> None:
    result = run(
        "upload", "--json", "-vv", shared_hub_server, "UploadSummary", stdin='1\n"two"\n\nnope\n4\n'
    )
    assert result.returncode == 2
    error_lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert error_lines == ["hubcli: error: stdin line 4 is not valid JSON: nope"]
    # The client stream (id "0") was ended with an error Completion on the wire.
    assert '{"type":3,"invocationId":"0","error":"stdin line 4 is not valid JSON: nope"}' in (
        result.stderr
    )


def test_upload_invalid_utf8_names_the_line(shared_hub_server: str) -> None:
    result = run("upload", shared_hub_server, "UploadSummary", stdin=b"ok\nfine\n\xff\xfe\n")
    assert result.returncode == 2
    assert result.stderr == "hubcli: error: stdin line 3 is not valid UTF-8\n"


def test_hub_error_exits_3_with_the_servers_message(shared_hub_server: str) -> None:
    result = run("invoke", shared_hub_server, "ThrowException", "boom")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr == (
        "hubcli: error: An unexpected error occurred invoking 'ThrowException' on the server.\n"
    )


def test_closed_port_exits_4() -> None:
    result = run("invoke", "http://127.0.0.1:9/hub", "Echo", "1")
    assert result.returncode == 4
    assert result.stderr.startswith("hubcli: error: could not connect to http://127.0.0.1:9/")
    assert len(result.stderr.splitlines()) == 1


def test_unknown_host_exits_4() -> None:
    result = run("invoke", "http://no-such-host.invalid/hub", "Echo", "1")
    assert result.returncode == 4
    assert "no-such-host.invalid" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_rejected_handshake_exits_6(start_hub_server) -> None:  # type: ignore[no-untyped-def]
    server = start_hub_server("--max-message-size", "10")
    result = run("invoke", server.url, "Echo", "1")
    assert result.returncode == 6
    assert (
        result.stderr == "hubcli: error: Server returned handshake error: Handshake was canceled.\n"
    )


def test_server_closing_mid_stream_exits_7(shared_hub_server: str) -> None:
    result = run("stream", shared_hub_server, "StreamThenClose", "3")
    assert result.returncode == 7
    assert result.stdout.splitlines() == ["0", "1", "2"]
    assert "Server returned an error on close: Connection closed with an error." in result.stderr


# What clean-up may add to a time limit or a signal: CancelInvocation, the hub's
# answer, Close, and the process's exit, with no waiting for answers that cannot come.
PROMPT = 1.5


def test_max_time_exits_124(hub_server: str) -> None:
    started = time.monotonic()
    # 4 s: on a loaded machine start-up alone has taken 1.5 s, and a stream that
    # never started has nothing to cancel.
    result = run("stream", "--max-time", "4", hub_server, "Forever", "50")
    assert time.monotonic() - started < 4 + PROMPT
    assert result.returncode == 124
    assert result.stderr == "hubcli: error: timed out after 4 s (--max-time)\n"
    assert [int(line) for line in result.stdout.splitlines()] == list(
        range(len(result.stdout.splitlines()))
    )
    assert _server_saw_cancellations(hub_server, 1)


def test_max_time_ends_an_invoke_promptly(shared_hub_server: str) -> None:
    # The hub cannot cancel a plain invocation: its Completion is 60 s away, and
    # the clean-up must not wait for it. (The margin is wide because a loaded
    # machine stretches start-up, and waiting would take the whole minute.)
    started = time.monotonic()
    result = run("invoke", shared_hub_server, "Slow", "60000", "-m", "1")
    assert time.monotonic() - started < 1 + 4 * PROMPT
    assert (result.returncode, result.stdout) == (124, "")
    assert result.stderr == "hubcli: error: timed out after 1 s (--max-time)\n"


def test_a_frozen_server_holds_up_the_exit_by_the_clean_up_limit_at_most(
    start_hub_server: Callable[..., HubServer],
) -> None:
    """A server that stops answering (SIGSTOP) gets CancelInvocation and Close, but
    hubcli does not wait for every answer in turn: after --idle-timeout nothing at
    all, after a signal or --max-time CLEAN_UP_SECONDS (2) in all."""
    server = start_hub_server()
    started = time.monotonic()
    clients = {
        "idle": start("stream", "--idle-timeout", "1", server.url, "Forever", "50"),
        "signal": start("stream", server.url, "Forever", "50"),
        "signal over Long Polling": start(
            "stream", "-t", "longpolling", server.url, "Forever", "50"
        ),
        "max-time": start("stream", "--max-time", "5", server.url, "Forever", "50"),
    }
    try:
        for process in clients.values():
            assert process.stdout is not None
            assert process.stdout.readline() == b"0\n"
        os.kill(server.process.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        clients["signal"].send_signal(signal.SIGINT)
        clients["signal over Long Polling"].send_signal(signal.SIGINT)
        ended = {}
        # In the order they should end, so each wait measures its own process.
        for name in ("idle", "signal", "signal over Long Polling", "max-time"):
            clients[name].wait(timeout=30)
            ended[name] = time.monotonic()
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        for process in clients.values():
            process.kill()
        stderr = {name: process.communicate()[1] for name, process in clients.items()}
    assert [process.returncode for process in clients.values()] == [124, 130, 130, 124]
    # An aborted clean-up leaves calls unfinished: nothing may go wrong when their
    # objects are collected after the run ("Exception ignored in ... __del__").
    assert [len(text.splitlines()) for text in stderr.values()] == [1, 0, 0, 1], stderr
    assert ended["idle"] - frozen < 1 + PROMPT
    assert ended["signal"] - frozen < 2 + 1
    assert ended["signal over Long Polling"] - frozen < 2 + 1
    assert ended["max-time"] - started < 5 + 2 + 1


def _wait_until_connected(process: subprocess.Popen[bytes]) -> bytes:
    """stderr of a `hubcli -v` up to its "connected:" line (then the server is set)."""
    assert process.stderr is not None
    seen = b""
    while b"hubcli: connected:" not in seen:
        line = process.stderr.readline()
        assert line, seen.decode()
        seen += line
    return seen


def test_idle_timeout_exits_124(start_hub_server) -> None:  # type: ignore[no-untyped-def]
    server = start_hub_server("--keepalive", "60")
    process = start("invoke", "-v", "--idle-timeout", "0.5", server.url, "Slow", "5000")
    _wait_until_connected(process)
    connected = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - connected < 0.5 + PROMPT
    assert process.returncode == 124
    assert b"Server timeout elapsed without receiving a message from the server." in stderr
    assert b"--idle-timeout 0.5 s" in stderr


@pytest.mark.parametrize(
    "command",
    [
        ["stream", "Counter", "20", "0"],
        ["stream", "-J", "Counter", "3", "0"],
        ["invoke", "Echo", '{"a":[1,2.5,{"b":null}],"s":"x\\u00e9","t":true}'],
        ["invoke", "-r", "Echo", "plain text"],
        ["invoke", "Add", "2", "3"],
        ["invoke", "Null"],
        ["invoke", "Void"],
        ["stream", "FastObjects", "50"],
    ],
)
def test_both_protocols_print_the_same(shared_hub_server: str, command: list[str]) -> None:
    verb, *rest = command
    flags = [arg for arg in rest if arg.startswith("-")]
    hub_args = [arg for arg in rest if not arg.startswith("-")]
    outputs = []
    for protocol in ("json", "messagepack"):
        result = run(verb, *flags, "-p", protocol, shared_hub_server, *hub_args)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] or command[-1] == "Void"


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _unread_socket_bytes(pid: int) -> int:
    """Bytes the kernel holds for hubcli's TCP sockets that hubcli has not read."""
    inodes = _socket_inodes(pid)
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[9] in inodes:
                total += int(fields[4].split(":")[1], 16)
    return total


def _stalled_stream(hub_server: str) -> subprocess.Popen[bytes]:
    """An endless FastStream whose first line was read, then nothing more: once the
    socket holds 64 KiB hubcli does not read, backpressure has reached it."""
    process = start("stream", hub_server, "FastStream", "200000000")
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == b"0\n"
        assert wait_for(lambda: _unread_socket_bytes(process.pid) > 64 * 1024)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return process


def test_slow_reader_keeps_memory_flat(hub_server: str) -> None:
    process = _stalled_stream(hub_server)
    try:
        # The kernel holds bytes hubcli no longer reads, and stays so.
        held = _unread_socket_bytes(process.pid)
        rss_then = proc_status(process.pid, "VmRSS")
        assert not wait_for(lambda: proc_status(process.pid, "VmRSS") > rss_then + 20_000, 3.0)
        assert _unread_socket_bytes(process.pid) >= held // 2
        assert proc_status(process.pid, "VmHWM") < 150_000  # kB
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    lines = [b"0", *out.splitlines()]
    assert lines == [str(i).encode() for i in range(len(lines))]


def test_second_signal_aborts_a_stuck_clean_up(hub_server: str) -> None:
    process = _stalled_stream(hub_server)
    try:
        # stdout is full and nobody reads it: a frame may be half written, and the
        # first signal's clean-up waits to finish it; the second must not wait.
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130
    finally:
        process.kill()
        process.communicate()


def test_signal_during_upload_ends_the_client_stream_with_an_error(hub_server: str) -> None:
    process = subprocess.Popen(
        [*HUBCLI, "upload", "-vv", hub_server, "UploadSummary"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert process.stdin is not None
    assert process.stderr is not None
    process.stdin.write(b"1\n2\n")  # and stdin stays open: the upload never ends by itself
    seen = b""
    while b'"item":"2"' not in seen:
        chunk = process.stderr.read(4096)
        assert chunk, seen.decode()
        seen += chunk
    process.send_signal(signal.SIGINT)
    # Not communicate(): it closes stdin at once, and an end of input that hubcli
    # reads before the signal ends the upload normally. What -vv writes after the
    # signal is a few lines, far from filling the pipe.
    process.wait(timeout=30)
    rest = process.stderr.read()
    process.stdin.close()
    assert process.stdout is not None
    process.stdout.close()
    assert process.returncode == 130
    assert b'{"type":3,"invocationId":"0","error":"The upload was cancelled by the client."}' in (
        seen + rest
    )
