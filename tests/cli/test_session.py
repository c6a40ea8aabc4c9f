"""`hubcli session` driven as a program drives it: real `hubcli session` processes
writing requests to their stdin and reading records off their stdout, against a
real `hubcli serve`; every record is checked against the shipped JSON Schema."""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cli.hubcli_process import HUBCLI, TIMEOUT
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]
Record = dict[str, Any]

COMBINATIONS = [
    ("websockets", "json"),
    ("websockets", "messagepack"),
    ("sse", "json"),
    ("longpolling", "json"),
    ("longpolling", "messagepack"),
]
TRANSPORTS = ["websockets", "sse", "longpolling"]


def _schema() -> dict[str, Any]:
    text = resources.files("hubcli").joinpath("schemas", "session-v1.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


SCHEMA = _schema()
RECORDS = jsonschema.Draft202012Validator({**SCHEMA, "$ref": "#/$defs/record"})
REQUESTS = jsonschema.Draft202012Validator({**SCHEMA, "$ref": "#/$defs/request"})


class Session:
    """A `hubcli session -v URL ...` process with pipes on both ends."""

    def __init__(self, url: str, *flags: str) -> None:
        self.process = subprocess.Popen(
            [*HUBCLI, "session", "-v", *flags, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self.records: list[Record] = []
        self._buffer = b""
        self._returned: set[int] = set()

    def send(self, request: Record) -> None:
        REQUESTS.validate(request)  # the tests speak the protocol as documented
        self.line(json.dumps(request))

    def line(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")

    def close_stdin(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def _take(self, timeout: float) -> bool:
        """Read what stdout has within `timeout`; False at EOF or on the timeout."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        if not select.select([fd], [], [], timeout)[0]:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            record = json.loads(line)
            RECORDS.validate(record)
            self.records.append(record)
        return True

    def wait_for(self, wanted: Callable[[Record], bool], timeout: float = 20.0) -> Record:
        """The first record not returned yet that is `wanted` (read further until
        one is): calls in flight answer in any order."""
        deadline = time.monotonic() + timeout
        while True:
            for index, record in enumerate(self.records):
                if index not in self._returned and wanted(record):
                    self._returned.add(index)
                    return record
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._take(remaining):
                raise AssertionError(
                    f"no such record; got {self.records}\nstderr: {self.stderr_so_far()}"
                )

    def record_of(self, request_id: Any, key: str, timeout: float = 20.0) -> Record:
        return self.wait_for(lambda r: r.get("id") == request_id and key in r, timeout)

    def stderr_so_far(self) -> str:
        return "" if self.process.poll() is None else "(see finish)"

    def finish(self) -> tuple[int, str]:
        """Read stdout to its end; (exit status, stderr). A session still going
        after TIMEOUT is killed (and the test fails on its exit status)."""
        deadline = time.monotonic() + TIMEOUT
        while self._take(max(0.0, deadline - time.monotonic())):
            pass
        if self.process.poll() is None:
            self.process.kill()
        assert self.process.stderr is not None
        self.process.wait(TIMEOUT)
        err = self.process.stderr.read().decode()
        if self._buffer:
            raise AssertionError(f"a record without its newline: {self._buffer!r}")
        return self.process.returncode, err

    def of(self, request_id: Any) -> list[Record]:
        return [record for record in self.records if record.get("id") == request_id]


@pytest.fixture
def sessions() -> Iterator[Callable[..., Session]]:
    started: list[Session] = []

    def start(url: str, *flags: str) -> Session:
        session = Session(url, *flags)
        started.append(session)
        return session

    yield start
    for session in started:
        if session.process.poll() is None:
            session.process.kill()
            session.process.wait()


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
def test_calls_in_flight_on_one_connection(
    start_hub_server: ServerFactory,
    sessions: Callable[..., Session],
    transport: str,
    protocol: str,
) -> None:
    hub = start_hub_server()
    session = sessions(hub.url, "-t", transport, "-p", protocol, "--on", "Tick")
    # A slow stream first: the calls after it are answered while it runs.
    session.send({"id": "slow", "stream": "Counter", "args": [3, 300]})
    session.record_of("slow", "item")
    session.send({"id": 1, "invoke": "Add", "args": [2, 40]})
    session.send({"id": 2, "invoke": "Void"})
    session.send({"id": 3, "invoke": "Null"})
    session.send({"id": 4, "invoke": "ThrowHubException", "args": ["boom"]})
    session.send({"id": 5, "send": "CallEcho", "args": ["x"]})
    session.line("not json")
    session.send({"id": 6, "invoke": "Notify", "args": ["Tick", 2, 0]})
    session.send({"id": 7, "upload": "UploadSum"})
    session.send({"id": 7, "items": [1, 2]})
    session.send({"id": 7, "item": 3.5})
    session.send({"id": 7, "end": True})
    session.send({"id": 8, "upload": "StreamEcho", "streamBack": True})
    session.send({"id": 8, "items": ["a", "b"]})
    session.send({"id": 8, "end": True})
    assert session.record_of(1, "result") == {"id": 1, "result": 42}
    assert session.record_of(2, "void") == {"id": 2, "void": True}
    assert session.record_of(3, "result") == {"id": 3, "result": None}
    error = session.record_of(4, "error")
    assert error["exit"] == 3
    assert "boom" in error["error"]
    assert session.record_of(7, "result") == {"id": 7, "result": 6.5}
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err
    records = session.records
    # Interleaved: Add's answer came while the slow stream was still going.
    slow_done = records.index({"id": "slow", "done": True})
    assert records.index({"id": 1, "result": 42}) < slow_done
    assert [r["item"] for r in session.of("slow") if "item" in r] == [0, 1, 2]
    assert session.of(5) == [{"id": 5, "done": True}]
    assert session.of(8) == [
        {"id": 8, "item": "a"},
        {"id": 8, "item": "b"},
        {"id": 8, "done": True},
    ]
    assert [r for r in records if "target" in r] == [
        {"target": "Tick", "arguments": [0]},
        {"target": "Tick", "arguments": [1]},
    ]
    # CallEcho pushed Echo, which is not on: not printed.
    [bad] = [r for r in records if "line" in r]
    assert bad["line"] == 7
    assert bad["exit"] == 2
    assert "not JSON" in bad["error"]


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
def test_cancel_sends_cancel_invocation(
    start_hub_server: ServerFactory,
    sessions: Callable[..., Session],
    transport: str,
    protocol: str,
) -> None:
    hub = start_hub_server()
    session = sessions(hub.url, "-t", transport, "-p", protocol)
    session.send({"id": "before", "invoke": "GetCancelledStreamCount"})
    before = session.record_of("before", "result")["result"]
    session.send({"id": "s", "stream": "Forever", "args": [50]})
    session.record_of("s", "item")
    session.send({"id": "c", "cancel": "s"})
    assert session.record_of("s", "cancelled") == {"id": "s", "cancelled": True}
    # The server saw the CancelInvocation: its counter says so.
    session.send({"id": "w", "invoke": "WaitForCancelledStreams", "args": [before + 1, 10000]})
    assert session.record_of("w", "result") == {"id": "w", "result": before + 1}
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err
    assert {"id": "c", "done": True} in session.records
    # Nothing of the stream after its cancelled record.
    assert session.of("s")[-1] == {"id": "s", "cancelled": True}


def test_bad_requests_each_name_their_line(
    hub_server: str, sessions: Callable[..., Session]
) -> None:
    session = sessions(hub_server)
    lines = [
        "[1]",
        '{"id": 1}',
        '{"id": 1, "invoke": "Add", "arg": [1]}',
        '{"id": true, "invoke": "Add"}',
        '{"id": 2, "invoke": "Add", "send": "Add"}',
        '{"id": 3, "item": 1}',
        '{"cancel": 99}',
        '{"id": 4, "invoke": ""}',
        '{"reply": "X"}',
        "",  # a blank line is no request, and no error either
        '{"id": 5, "invoke": "Echo", "args": ["still here"]}',
    ]
    for line in lines:
        session.line(line)
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err
    bad = [r for r in session.records if "line" in r]
    assert [r["line"] for r in bad] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert all(r["exit"] == 2 for r in bad)
    assert 'unknown key "arg"' in bad[2]["error"]
    assert {"id": 5, "result": "still here"} in session.records


def test_eof_waits_for_calls_in_flight(hub_server: str, sessions: Callable[..., Session]) -> None:
    session = sessions(hub_server)
    session.send({"id": 1, "invoke": "Slow", "args": [500]})
    session.send({"id": 2, "stream": "Counter", "args": [3, 100]})
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err
    assert {"id": 1, "result": 500} in session.records
    assert [r["item"] for r in session.of(2) if "item" in r] == [0, 1, 2]
    assert session.of(2)[-1] == {"id": 2, "done": True}


def test_no_wait_cancels_calls_in_flight(hub_server: str, sessions: Callable[..., Session]) -> None:
    session = sessions(hub_server, "--no-wait")
    session.send({"id": 1, "stream": "Forever", "args": [50]})
    session.record_of(1, "item")
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err
    assert session.records[-1] == {"id": 1, "cancelled": True}


def test_eof_before_an_uploads_end_is_its_error(
    hub_server: str, sessions: Callable[..., Session]
) -> None:
    session = sessions(hub_server)
    session.send({"id": "u", "upload": "UploadSum"})
    session.send({"id": "u", "item": 1})
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err
    assert session.of("u") == [
        {"id": "u", "error": "stdin ended before the upload's end line", "exit": 2}
    ]


def test_on_off_and_reply(hub_server: str, sessions: Callable[..., Session]) -> None:
    session = sessions(hub_server)
    session.send({"id": "on", "on": "echo"})  # targets match case-insensitively
    session.record_of("on", "done")
    session.send({"id": 1, "invoke": "CallEcho", "args": ["one"]})
    assert session.wait_for(lambda r: "target" in r) == {"target": "Echo", "arguments": ["one"]}
    session.send({"id": "off", "off": "Echo"})
    session.record_of("off", "done")
    session.send({"id": 2, "invoke": "CallEcho", "args": ["two"]})
    session.record_of(2, "result")
    session.send({"id": "r", "reply": "GetName", "result": "bot"})
    session.record_of("r", "done")
    session.send({"id": 3, "invoke": "ClientResult", "args": ["GetName"]})
    assert session.record_of(3, "result") == {"id": 3, "result": "bot"}
    session.send({"id": "r2", "reply": "GetName", "error": "no names today"})
    session.record_of("r2", "done")
    session.send({"id": 4, "invoke": "ClientResult", "args": ["GetName"]})
    assert "no names today" in json.dumps(session.record_of(4, "result"))
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err
    assert [r for r in session.records if "target" in r] == [
        {"target": "Echo", "arguments": ["one"]}
    ]


# The chaos hub resets a WebSocket's or an SSE stream's TCP connection; Long Polling
# has none that lasts, so there the hub ends the connection with a Close instead.
LOSSES = [
    ("websockets", {"invoke": "DropConnection"}),
    ("sse", {"invoke": "DropConnection"}),
    ("longpolling", {"invoke": "CloseConnection", "args": ["going away", False]}),
    ("websockets", {"invoke": "CloseConnection", "args": ["going away", False]}),
]


@pytest.mark.parametrize(("transport", "loss"), LOSSES, ids=str)
def test_connection_lost_is_error_records_then_exit_7(
    start_hub_server: ServerFactory,
    sessions: Callable[..., Session],
    transport: str,
    loss: Record,
) -> None:
    hub = start_hub_server("--chaos")
    session = sessions(hub.url, "-t", transport)
    session.send({"id": "s", "stream": "Forever", "args": [100]})
    session.record_of("s", "item")
    session.send({"id": "loss", **loss})
    code, err = session.finish()
    assert code == 7, err
    error = session.record_of("s", "error")
    assert error["exit"] == 7
    assert "hubcli: error:" in err
    # Every call in flight said how it ended, and the stream said nothing after.
    assert session.of("s")[-1] == error
    assert session.of("loss")[-1].keys() & {"error", "void", "result"}


def test_reconnect_goes_on(
    start_hub_server: ServerFactory, sessions: Callable[..., Session]
) -> None:
    hub = start_hub_server("--chaos")
    session = sessions(hub.url, "--reconnect-delays", "0")
    session.send({"id": 1, "invoke": "GetCallerConnectionId"})
    first = session.record_of(1, "result")["result"]
    session.send({"id": "drop", "invoke": "DropConnection"})
    session.wait_for(lambda r: "reconnecting" in r)
    again = session.wait_for(lambda r: "reconnected" in r)["reconnected"]
    assert again != first
    session.send({"id": 2, "invoke": "GetCallerConnectionId"})
    assert session.record_of(2, "result") == {"id": 2, "result": again}
    session.close_stdin()
    code, err = session.finish()
    assert code == 0, err


def test_ctrl_c_ends_the_session(hub_server: str, sessions: Callable[..., Session]) -> None:
    session = sessions(hub_server)
    session.send({"id": 1, "stream": "Forever", "args": [50]})
    session.record_of(1, "item")
    session.process.send_signal(signal.SIGINT)
    code, err = session.finish()
    assert code == 130, err


def test_a_bash_coproc_drives_it(hub_server: str) -> None:
    hubcli = " ".join(shlex.quote(part) for part in HUBCLI)
    script = f"""
set -euo pipefail
coproc HUB {{ {hubcli} session --on Tick {shlex.quote(hub_server)}; }}
echo '{{"id":"n","invoke":"Notify","args":["Tick",1,0]}}' >&"${{HUB[1]}}"
read -r push <&"${{HUB[0]}}"; echo "push: $push"
read -r answer <&"${{HUB[0]}}"; echo "answer: $answer"
echo '{{"id":1,"invoke":"Add","args":[20,22]}}' >&"${{HUB[1]}}"
read -r sum <&"${{HUB[0]}}"; echo "sum: $sum"
exec {{HUB[1]}}>&-
wait "$HUB_PID"; echo "exit: $?"
"""
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    records = [json.loads(lines[key]) for key in ("push", "answer", "sum")]
    for record in records:
        RECORDS.validate(record)
    assert sorted(map(json.dumps, records[:2])) == sorted(
        [
            json.dumps({"target": "Tick", "arguments": [0]}),
            json.dumps({"id": "n", "result": None}),
        ]
    )
    assert records[2] == {"id": 1, "result": 42}
    assert lines["exit"] == "0"


def test_the_readme_example_script(hub_server: str) -> None:
    """examples/session-coproc.sh, which the README shows, works as it says."""
    hubcli = " ".join(shlex.quote(part) for part in HUBCLI)
    script = Path(__file__).resolve().parents[2] / "examples" / "session-coproc.sh"
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'hubcli() {{ {hubcli} "$@"; }}; export -f hubcli; "$0" "$1"',
            str(script),
            hub_server,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    received, cancelled = done.stdout.splitlines()
    assert received.startswith("received: ")
    assert json.loads(received.removeprefix("received: "))["arguments"][1] == "hello"
    assert cancelled == 'cancelled: {"id":"count","cancelled":true}'


def test_the_readme_shows_the_example_script_as_it_is() -> None:
    root = Path(__file__).resolve().parents[2]
    script = (root / "examples" / "session-coproc.sh").read_text()
    shown = script[script.index("coproc HUB") :]
    assert f"```bash\n{shown}```" in (root / "README.md").read_text()
