"""Every command over every transport (both protocols where the transport can carry
them), the real `hubcli` against `hubcli serve`: the same stdout and exit status as
over WebSockets. Cancellation by `| head` and by SIGINT reaches the server over
Server-Sent Events and Long Polling too."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

import pytest

from tests.cli.hubcli_process import HUBCLI, pipeline, run, start

COMBINATIONS = [
    ("sse", "json"),
    ("longpolling", "json"),
    ("longpolling", "messagepack"),
]

UPLOAD_LINES = "".join(f"{n}\n" for n in range(1, 10001))

# (name, arguments before URL, arguments after URL, stdin)
COMMANDS: list[tuple[str, list[str], list[str], str | None]] = [
    ("add", ["invoke"], ["Add", "2", "3"], None),
    ("echo", ["invoke"], ["Echo", '{"a":[1,2.5,{"b":null}],"s":"x\\u00e9\\r\\nz","t":true}'], None),
    ("raw", ["invoke", "-r"], ["Echo", "plain text"], None),
    ("null", ["invoke"], ["Null"], None),
    ("void", ["invoke"], ["Void"], None),
    ("hub error", ["invoke"], ["ThrowHubException", "boom"], None),
    ("send", ["send"], ["Broadcast", "hi"], None),
    ("counter", ["stream"], ["Counter", "20", "0"], None),
    ("envelope", ["stream", "-J"], ["Counter", "3", "0"], None),
    ("objects", ["stream"], ["FastObjects", "50"], None),
    ("many items", ["stream"], ["FastStream", "20000"], None),
    ("count", ["stream", "-n", "5"], ["Forever", "0"], None),
    ("stream error", ["stream"], ["StreamException"], None),
    ("upload", ["upload"], ["UploadSummary"], UPLOAD_LINES),
    ("upload json", ["upload", "--json"], ["UploadSum"], "1\n2.5\n\n3\n"),
    ("upload stream", ["upload", "--stream"], ["StreamEcho"], "a\nb\r\nc\n"),
]


def _run_all(url: str, flags: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Every command at once (separate processes), as (exit status, stdout)."""
    processes = {}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, before, after, stdin in COMMANDS:
        processes[name] = (
            subprocess.Popen(
                [*HUBCLI, *before, *flags, url, *after],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            ),
            stdin,
        )
    results = {}
    for name, (process, stdin) in processes.items():
        out, err = process.communicate(stdin.encode() if stdin else None, timeout=60)
        assert b"Traceback" not in err, err.decode()
        results[name] = (process.returncode, out.decode())
    return results


@pytest.fixture(scope="module")
def over_websockets(shared_hub_server: str) -> dict[str, dict[str, tuple[int, str]]]:
    """What each command prints over WebSockets, per protocol (the reference)."""
    return {
        protocol: _run_all(shared_hub_server, ["-t", "websockets", "-p", protocol])
        for protocol in ("json", "messagepack")
    }


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
def test_every_command_prints_the_same(
    shared_hub_server: str,
    over_websockets: dict[str, dict[str, tuple[int, str]]],
    transport: str,
    protocol: str,
) -> None:
    results = _run_all(shared_hub_server, ["-t", transport, "-p", protocol])
    reference = over_websockets[protocol]
    for name, _, _, _ in COMMANDS:
        assert results[name] == reference[name], name
    # And the reference itself is right, so "the same" means something.
    assert reference["add"] == (0, "5\n")
    assert reference["hub error"] == (3, "")
    assert reference["counter"][1].split() == [str(n) for n in range(20)]
    assert reference["many items"][1].split() == [str(n) for n in range(20000)]
    assert reference["count"] == (0, "0\n1\n2\n3\n4\n")
    checksum = hashlib.sha256(UPLOAD_LINES.encode()).hexdigest()
    assert json.loads(reference["upload"][1]) == {"count": 10000, "checksum": checksum}
    assert reference["upload stream"] == (0, '"a"\n"b"\n"c"\n')


@pytest.mark.parametrize("transport", ["sse", "longpolling"])
def test_the_transport_is_what_was_asked_for(shared_hub_server: str, transport: str) -> None:
    result = run("invoke", "-v", "-t", transport, shared_hub_server, "GetActiveTransportName")
    expected = {"sse": "ServerSentEvents", "longpolling": "LongPolling"}[transport]
    assert result.stdout == f'"{expected}"\n', result.stderr
    assert f"connected: {expected}, json" in result.stderr


def _server_saw_cancellations(url: str, count: int) -> bool:
    result = run("invoke", url, "WaitForCancelledStreams", str(count), "10000")
    return result.returncode == 0 and int(result.stdout) >= count


@pytest.mark.parametrize("transport", ["sse", "longpolling"])
def test_head_cancels_the_stream(hub_server: str, transport: str) -> None:
    result = pipeline(f"hubcli stream -t {transport} {hub_server} Forever 1 | head -n 3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0", "1", "2"]
    assert result.stderr == ""
    assert _server_saw_cancellations(hub_server, 1)


@pytest.mark.parametrize("transport", ["websockets", "sse", "longpolling"])
def test_sigint_cancels_the_stream(hub_server: str, transport: str) -> None:
    process = start("stream", "-vv", "-t", transport, hub_server, "Forever", "5")
    assert process.stdout is not None
    first = [process.stdout.readline() for _ in range(3)]
    process.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    rest, stderr = process.communicate(timeout=30)
    assert time.monotonic() - signalled < 1.5  # no waiting out a time limit
    assert process.returncode == 130, stderr
    lines = b"".join(first).decode().splitlines() + rest.decode().splitlines()
    assert [int(line) for line in lines] == list(range(len(lines)))
    assert b"Traceback" not in stderr
    # Ctrl-C cancelled the command, but not the reading: the hub's answer to the
    # CancelInvocation came in before Close went out (no waiting out a time limit).
    log = stderr.decode()
    # The answer may share a poll (or an event) with the last items: anywhere in a
    # received batch (hubcli sends no Completion here).
    answer = log.find('{"type":3,"invocationId":"0"}')
    assert 0 < log.find('-> {"type":5,"invocationId":"0"}') < answer < log.find("sent Close")
    assert _server_saw_cancellations(hub_server, 1)


def test_messagepack_over_sse_is_a_usage_error(shared_hub_server: str) -> None:
    result = run("invoke", "-t", "sse", "-p", "messagepack", shared_hub_server, "Add", "1", "2")
    assert result.returncode == 2
    assert result.stderr.startswith("hubcli: error: MessagePack cannot go over Server-Sent Events")


def test_skip_negotiation_is_websockets_only(shared_hub_server: str) -> None:
    for transport in ("sse", "longpolling", "websockets,sse"):
        result = run("invoke", "--skip-negotiation", "-t", transport, shared_hub_server, "Add")
        assert result.returncode == 2, transport
        assert "--skip-negotiation works only with the WebSockets transport" in result.stderr
    ok = run("invoke", "--skip-negotiation", "-t", "websockets", shared_hub_server, "Add", "1", "2")
    assert ok.stdout == "3\n", ok.stderr


def _loaded_http_modules(argv: Sequence[str]) -> tuple[str, str]:
    """stdout of `hubcli *argv` run in-process, and which HTTP modules it loaded."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['hubcli', *{list(argv)!r}]\n"
        "try:\n"
        "    runpy.run_module('hubcli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'h11') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout, result.stderr.strip().splitlines()[-1]


def test_negotiate_goes_through_httpx_and_skipping_it_loads_no_httpx(
    shared_hub_server: str,
) -> None:
    # One HTTP path: negotiate is an httpx request like those of SSE and Long Polling.
    stdout, loaded = _loaded_http_modules(["invoke", shared_hub_server, "Add", "1", "2"])
    assert stdout == "3\n"
    assert loaded == "['h11', 'httpcore', 'httpx']"
    # A run without any HTTP request does not pay for httpx's imports.
    stdout, loaded = _loaded_http_modules(
        ["invoke", "--skip-negotiation", "-t", "websockets", shared_hub_server, "Add", "1", "2"]
    )
    assert stdout == "3\n"
    assert loaded == "['h11']"
