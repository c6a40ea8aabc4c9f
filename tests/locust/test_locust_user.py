"""The Locust user (hubcli[locust]) against a real `hubcli serve`: a master and two
workers on loopback, headless, whose statistics match the server's own counters;
a hub error as a Locust failure with the hub's text; stream items and pushes.

Locust runs only in its own processes here: importing it patches the importing
process for gevent, which would break pytest-xdist's threads and trio.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from tests.cli.hubcli_process import run
from tests.serverproc import HubServer

ROOT: Final = Path(__file__).resolve().parents[2]
EXAMPLES: Final = ROOT / "examples" / "locust"
LOCUSTFILES: Final = Path(__file__).resolve().parent / "locustfiles"
LOCUST: Final = [sys.executable, "-m", "locust"]
# Start-up of three Python processes on a busy two-core machine, the run, the stop.
TIMEOUT: Final = 90.0


@dataclass
class LocustRun:
    returncode: int
    stats: dict[str, dict[str, Any]]  # --json's entries by name
    errors: list[dict[str, Any]]  # the error report (report_errors.py)
    log: str


def counters(url: str) -> dict[str, Any]:
    result = run("invoke", url, "GetCounters")
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def locust(
    locustfile: Path,
    url: str,
    tmp_path: Path,
    *options: str,
    users: int,
    workers: int = 0,
    seconds: int = 3,
) -> LocustRun:
    """A headless Locust run to its end: alone, or a master and `workers` workers."""
    # Options are the master's alone: Locust hands them to its workers.
    common = ["-f", f"{locustfile},{LOCUSTFILES / 'report_errors.py'}"]
    errors = tmp_path / "errors.json"
    env = {**os.environ, "HUBCLI_TEST_LOCUST_ERRORS": str(errors)}
    port = free_port()
    distributed = (
        ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
         "--expect-workers", str(workers)]
        if workers else []
    )  # fmt: skip
    log = tmp_path / "master.log"
    with log.open("w") as log_file:
        main = subprocess.Popen(
            [
                *LOCUST, *common, *options, *distributed, "--headless", "--host", url,
                "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                # Tasks end before their users stop: no call left half-counted.
                "--stop-timeout", "10", "--json",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        helpers = [
            subprocess.Popen(
                [
                    *LOCUST,
                    *common,
                    "--worker",
                    "--master-host",
                    "127.0.0.1",
                    "--master-port",
                    str(port),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        try:
            out, _ = main.communicate(timeout=TIMEOUT)
            for helper in helpers:
                helper.wait(timeout=TIMEOUT)
        finally:
            for process in (main, *helpers):
                if process.poll() is None:
                    process.kill()
                    process.wait()
    text = log.read_text()
    assert out.strip(), text
    entries = json.loads(out)
    reported = json.loads(errors.read_text())
    # No locustfile here raises but by a failed assertion, which is the test's.
    assert reported["exceptions"] == [], reported["exceptions"]
    stats = {entry["name"]: entry for entry in entries}
    return LocustRun(main.returncode, stats, reported["errors"], text)


def delta(before: dict[str, Any], after: dict[str, Any], key: str) -> int:
    return int(after["benchmarkCalls"].get(key, 0)) - int(before["benchmarkCalls"].get(key, 0))


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
def test_a_master_and_two_workers_count_what_the_server_counts(
    hub_server: str, tmp_path: Path, protocol: str
) -> None:
    before = counters(hub_server)
    users = 4
    result = locust(
        EXAMPLES / "echo.py", hub_server, tmp_path, "--signalr-protocol", protocol,
        users=users, workers=2,
    )  # fmt: skip
    after = counters(hub_server)
    assert result.returncode == 0, result.log
    echo = result.stats["invoke:Echo"]
    assert echo["num_requests"] > 0
    assert echo["num_failures"] == 0, result.log
    # Every Echo the server answered is in the master's statistics, and no other.
    assert echo["num_requests"] == delta(before, after, "Echo")
    assert result.stats["connect"]["num_requests"] == users
    assert result.stats["connect"]["num_failures"] == 0
    # Our users' connections, and the one that asked for `after`.
    assert after["connectionsOpened"] - before["connectionsOpened"] == users + 1
    # The workers took the master's --signalr-protocol (GetCounters speaks JSON).
    opened = after["connectionsByProtocol"]
    earlier = before["connectionsByProtocol"]
    assert opened[protocol] - earlier.get(protocol, 0) == users + (protocol == "json")
    assert result.errors == []


def test_a_hub_error_is_a_failure_with_the_hubs_text(hub_server: str, tmp_path: Path) -> None:
    result = locust(LOCUSTFILES / "throws.py", hub_server, tmp_path, users=2, seconds=2)
    # Locust's own exit status for a run with failures.
    assert result.returncode == 1, result.log
    thrown = result.stats["invoke:ThrowHubException"]
    assert thrown["num_requests"] > 0
    assert thrown["num_failures"] == thrown["num_requests"]
    failures = {failure["name"]: failure for failure in result.errors}
    assert set(failures) == {"invoke:ThrowHubException", "stream:StreamThenThrow"}
    failure = failures["invoke:ThrowHubException"]
    assert failure["method"] == "signalr"
    assert "HubException: no such order 42" in failure["error"]
    assert failure["occurrences"] == thrown["num_failures"]
    # Three items, then the hub's error: one failure a stream, after its items.
    streamed = result.stats["stream:StreamThenThrow"]
    assert streamed["num_failures"] > 0
    assert streamed["num_requests"] == 4 * streamed["num_failures"]
    assert "HubException: the stream broke" in failures["stream:StreamThenThrow"]["error"]


def test_stream_items_and_pushes_are_requests(hub_server: str, tmp_path: Path) -> None:
    before = counters(hub_server)
    result = locust(
        LOCUSTFILES / "stream_and_push.py", hub_server, tmp_path,
        "--signalr-protocol", "messagepack", users=2, seconds=2,
    )  # fmt: skip
    after = counters(hub_server)
    assert result.returncode == 0, result.log
    assert all(entry["num_failures"] == 0 for entry in result.stats.values()), result.log
    streams = delta(before, after, "StreamTimes")
    assert streams > 0
    # Each stream read to its 20th item and no further: one request an item.
    assert result.stats["stream:StreamTimes"]["num_requests"] == 20 * streams
    # Each EchoAll reaches its caller before its Completion does; a push to the
    # other user may still be on its way when that user stops.
    calls = result.stats["invoke:EchoAll"]["num_requests"]
    assert calls == delta(before, after, "EchoAll") > 0
    pushes = result.stats["event:send"]["num_requests"]
    assert calls <= pushes <= after["invocationsSent"] - before["invocationsSent"]
    assert result.stats["event:send"]["num_failures"] == 0


def test_a_lost_connection_is_made_again_by_the_next_call(hub_server: str, tmp_path: Path) -> None:
    before = counters(hub_server)
    # Through the Azure-style redirect negotiate, where each connect starts again.
    redirect = f"{hub_server}/redirect"
    result = locust(LOCUSTFILES / "closes.py", redirect, tmp_path, users=2, seconds=3)
    after = counters(hub_server)
    connects = result.stats["connect"]
    closes = result.stats["invoke:CloseConnection"]
    assert closes["num_requests"] > 0
    # Each call the hub answered with Close failed, and only those.
    assert closes["num_failures"] == closes["num_requests"], result.log
    failures = {failure["name"]: failure for failure in result.errors}
    assert set(failures) == {"invoke:CloseConnection", "disconnect"}
    assert "closed by the test" in failures["invoke:CloseConnection"]["error"]
    # Each close is a disconnect too, the hub's reason with it.
    assert "closed by the test" in failures["disconnect"]["error"]
    assert result.stats["disconnect"]["num_failures"] == closes["num_requests"]
    # Connected again after each close but perhaps each user's last; and each
    # connect is one the server opened (one more: the GetCounters for `after`).
    assert connects["num_failures"] == 0
    assert closes["num_requests"] <= connects["num_requests"] <= closes["num_requests"] + 2
    assert connects["num_requests"] == after["connectionsOpened"] - before["connectionsOpened"] - 1
    echo = result.stats["invoke:Echo"]
    assert echo["num_failures"] == 0, result.log
    assert echo["num_requests"] == delta(before, after, "Echo")


def test_a_server_silent_past_server_timeout_is_a_disconnect(
    start_hub_server: Callable[..., HubServer], tmp_path: Path
) -> None:
    url = start_hub_server("--keepalive", "0").url
    result = locust(LOCUSTFILES / "quiet.py", url, tmp_path, users=2, seconds=3)
    echo = result.stats["invoke:Echo"]
    disconnects = result.stats["disconnect"]
    assert echo["num_requests"] >= 4
    assert echo["num_failures"] == 0, result.log
    # Each wait outlasts the server timeout: every Echo but each user's first
    # connected again, and every connection but perhaps each user's last was lost.
    assert result.stats["connect"]["num_requests"] == echo["num_requests"]
    assert echo["num_requests"] - 2 <= disconnects["num_failures"] <= echo["num_requests"]
    [failure] = result.errors
    assert failure["name"] == "disconnect"
    assert "no message from the server in 0.3 s" in failure["error"]


def test_a_call_past_call_timeout_fails_and_the_connection_stays(
    hub_server: str, tmp_path: Path
) -> None:
    result = locust(LOCUSTFILES / "hangs.py", hub_server, tmp_path, users=2, seconds=3)
    slow = result.stats["invoke:Slow"]
    stream = result.stats["stream:Forever"]
    echo = result.stats["invoke:Echo"]
    # Every Slow outlasted the user's call_timeout; every stream gave its first
    # item, then waited longer than its own timeout for the second; the Echo
    # after them on the same connection was answered.
    assert slow["num_requests"] == slow["num_failures"] > 0, result.log
    assert stream["num_failures"] > 0
    assert stream["num_requests"] == 2 * stream["num_failures"]
    assert echo["num_requests"] > 0
    assert echo["num_failures"] == 0, result.log
    # Nothing was lost: a late answer does not cost the connection.
    assert result.stats["connect"]["num_requests"] == 2
    assert "disconnect" not in result.stats
    failures = {failure["name"]: failure["error"] for failure in result.errors}
    assert set(failures) == {"invoke:Slow", "stream:Forever"}
    assert "no answer in 0.2 s" in failures["invoke:Slow"]
    assert "no stream item in 1.5 s" in failures["stream:Forever"]
    # Each stream that was given up on was cancelled on the server.
    cancelled = run(
        "invoke", hub_server, "WaitForCancelledStreams", str(stream["num_failures"]), "10000"
    )
    assert cancelled.returncode == 0, cancelled.stderr
    assert int(cancelled.stdout) == stream["num_failures"]


def test_the_locust_user_stands_on_the_protocol_core_alone() -> None:
    # gevent, not trio: nothing of hubcli's trio client, CLI or server may come in.
    # In a process of its own, as importing locust patches the importer.
    probe = (
        "import sys, hubcli.locust_signalr; print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('trio', 'trio_websocket', 'httpx', 'typer', 'hypercorn')"
        " or m.startswith(('hubcli.client', 'hubcli.cli', 'hubcli.server'))))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"


def test_client_results_are_answered_by_the_handlers(hub_server: str, tmp_path: Path) -> None:
    before = counters(hub_server)
    result = locust(LOCUSTFILES / "client_results.py", hub_server, tmp_path, users=2, seconds=2)
    after = counters(hub_server)
    assert result.returncode == 1, result.log  # the refusals are failures
    answered = result.stats["event:GetAnswer"]
    refused = result.stats["event:Refuse"]
    assert answered["num_requests"] > 0
    assert answered["num_failures"] == 0
    assert refused["num_requests"] == refused["num_failures"] > 0
    [failure] = result.errors
    assert failure["name"] == "event:Refuse"
    assert "no answer here" in failure["error"]
    asked = result.stats["invoke:ClientResult"]["num_requests"]
    answers = {
        kind: after["clientResults"][kind] - before["clientResults"][kind]
        for kind in ("requested", "ok", "error")
    }
    # Every request reached the client, which answered each: with the handler's
    # value, or with an error (a handler's, or none to ask).
    assert answers["requested"] == asked
    assert answers["ok"] == answered["num_requests"]
    assert answers["ok"] + answers["error"] == asked
    assert answers["error"] >= refused["num_requests"]
    assert result.stats["invoke:ClientResult"]["num_failures"] == 0


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("*.py")))
def test_every_example_locustfile_runs_without_a_failure(
    hub_server: str, tmp_path: Path, example: str
) -> None:
    # The README points people at these: each one works against `hubcli serve`.
    result = locust(EXAMPLES / example, hub_server, tmp_path, users=2, seconds=3)
    assert result.returncode == 0, result.log
    assert result.errors == [], result.errors
    requests = {name: entry["num_requests"] for name, entry in result.stats.items()}
    assert sum(requests.values()) > 0, requests
    assert all(entry["num_failures"] == 0 for entry in result.stats.values()), result.stats
