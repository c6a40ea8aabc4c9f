"""`--reconnect` and `--connect-retries` on the command line: real `hubcli` processes
against `hubcli serve` processes killed and started again on the same port."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.cli.hubcli_process import HUBCLI, TIMEOUT, run
from tests.cli.test_listen import Listener, send
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_listen_reconnects_runs_its_calls_again_and_goes_on(
    start_hub_server: ServerFactory, how: int
) -> None:
    port = str(free_port())
    hub = start_hub_server("--port", port)
    listener = Listener(
        "-J", "-n", "4", "--reconnect-delays", "0,0.2,0.5,1,2,5", hub.url, "ReceiveMessage",
        "--call", "JoinGroup room",
    )  # fmt: skip
    listener.wait_for_stderr("--call JoinGroup: done")
    send(hub.url, "SendToGroup", "room", "before")
    hub.process.send_signal(how)
    hub.process.wait()
    listener.wait_for_stderr("hubcli: reconnecting: ")
    again = start_hub_server("--port", port)
    listener.wait_for_stderr("hubcli: reconnected: connection ")
    listener.wait_for_stderr("--call JoinGroup: done", after="reconnected")
    send(again.url, "SendToGroup", "room", "after")
    status, lines, errors = listener.finish()
    assert status == 0, errors
    records = [json.loads(line) for line in lines]
    kinds = [record["type"] for record in records]
    assert (
        kinds == ["event", "event", "reconnecting", "reconnected", "event", "event"][: len(kinds)]
    )
    messages = [r["arguments"][1] for r in records if r["type"] == "event"]
    assert messages[0].endswith("has joined the group room.")
    assert messages[1] == "before"
    # The group was joined again on the new connection, before listening went on.
    assert messages[2] == f"{records[3]['connectionId']} has joined the group room."
    assert messages[3] == "after"


def test_listen_gives_up_after_its_delays_with_exit_7(start_hub_server: ServerFactory) -> None:
    hub = start_hub_server()
    listener = Listener("--reconnect-delays", "0,0.1", hub.url).connected()
    hub.stop()
    status, lines, errors = listener.finish()
    assert (status, lines) == (7, [])
    assert "Reconnect retries have been exhausted after 2 failed attempts" in errors


def test_listen_stops_at_once_on_a_refused_token(start_hub_server: ServerFactory) -> None:
    port = str(free_port())
    hub = start_hub_server("--port", port, "--require-token", "old")
    listener = Listener("--token", "old", "--reconnect-delays", "forever", hub.url).connected()
    hub.stop()
    start_hub_server("--port", port, "--require-token", "new")
    status, _, errors = listener.finish()
    assert status == 5
    assert "401" in errors


def test_without_reconnect_a_lost_connection_is_exit_7(start_hub_server: ServerFactory) -> None:
    hub = start_hub_server()
    listener = Listener(hub.url).connected()
    hub.process.kill()
    status, _, errors = listener.finish()
    assert status == 7
    assert "reconnecting" not in errors


def test_connect_retries_reach_a_hub_that_starts_two_seconds_later(
    start_hub_server: ServerFactory,
) -> None:
    port = str(free_port())
    client = subprocess.Popen(
        [*HUBCLI, "invoke", "-v", "--connect-retries", "30", f"http://127.0.0.1:{port}/hub",
         "Echo", "42"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    time.sleep(2)  # the point of the test: the hub is not there yet
    start_hub_server("--port", port)
    out, err = client.communicate(timeout=TIMEOUT)
    assert (client.returncode, out) == (0, "42\n"), err
    assert "could not connect" in err
    assert "retry 1 of 30" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["listen", "--reconnect-delays", "soon"], "--reconnect-delays 'soon' is not a list"),
        (["listen", "--reconnect-delays", "1,nan"], "--reconnect-delays '1,nan' is not a list"),
        (["invoke", "--stateful-reconnect", "-t", "sse"], "--stateful-reconnect needs negotiate"),
        (["invoke", "--stateful-reconnect", "--skip-negotiation"], "--stateful-reconnect needs"),
    ],
)
def test_reconnect_usage_errors(argv: list[str], message: str) -> None:
    command, *options = argv
    result = run(
        command, *options, "http://127.0.0.1:9/hub", *(["Echo"] if command == "invoke" else [])
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"hubcli: error: {message}"), result.stderr


def _resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_listen_that_keeps_reconnecting_does_not_grow(
    start_hub_server: ServerFactory,
) -> None:
    """Each lost connection leaves cycles for the collector, which the CLI runs
    rarely (startup.YOUNG_OBJECTS); without a collection after each reconnect, RSS
    grew ~18 KB a reconnect (bench/soak_bench.py), over 1 MiB across these 60."""
    hub = start_hub_server("--chaos", "--fault", "drop-transport=0.2")
    listener = Listener("-J", "--reconnect-delays", "forever", hub.url, "Nothing")
    assert listener.process.stdout is not None
    fd = listener.process.stdout.fileno()
    received = b""
    samples: dict[int, int] = {}
    deadline = time.monotonic() + 60
    try:
        while len(samples) < 2:
            remaining = deadline - time.monotonic()
            assert remaining > 0, samples
            assert select.select([fd], [], [], remaining)[0], samples
            chunk = os.read(fd, 65536)
            assert chunk, listener.process.stderr
            received += chunk
            reconnects = received.count(b'"type":"reconnected"')
            for mark in (10, 70):
                if reconnects >= mark and mark not in samples:
                    samples[mark] = _resident_kib(listener.process.pid)
    finally:
        listener.process.kill()
        listener.process.communicate()
    assert samples[70] - samples[10] < 600, samples
