"""`--stateful-reconnect` on the command line, across the chaos hub's transport drops:
`stream` prints every item once and in order, `listen` loses no event; without it,
the drop is exit 7. (tests/client/test_stateful_reconnect.py drops uploads midway.)"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator

import pytest

from tests import serverproc
from tests.cli.hubcli_process import HUBCLI, run

PROTOCOLS = ["json", "messagepack"]


@pytest.fixture(scope="module")
def chaos_hub() -> Iterator[str]:
    server = serverproc.start_hub_server("--chaos", "--allow-stateful-reconnect")
    yield server.url
    server.stop()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_prints_every_item_once_across_a_drop(chaos_hub: str, protocol: str) -> None:
    result = run(
        "stream", "-v", "--stateful-reconnect", "-p", protocol, chaos_hub,
        "ResumableCounter", "3000", "0", "1234",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(index) for index in range(3000)]
    assert "stateful reconnect: resumed" in result.stderr


def test_without_it_the_drop_is_exit_7(chaos_hub: str) -> None:
    result = run("stream", chaos_hub, "ResumableCounter", "3000", "0", "1234")
    assert result.returncode == 7
    lines = result.stdout.splitlines()
    assert lines == [str(index) for index in range(len(lines))]
    assert len(lines) < 3000


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_listen_loses_nothing_across_a_drop(chaos_hub: str, protocol: str) -> None:
    result = run(
        "listen", "-n", "6", "--stateful-reconnect", "-p", protocol, chaos_hub, "Tick",
        "--call", "Notify Tick 3 0",
        "--call", "DropTransport",
        "--call", "Notify Tick 3 0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ticks = [json.loads(line)["arguments"][0] for line in result.stdout.splitlines()]
    assert ticks == [0, 1, 2, 0, 1, 2]


def test_upload_with_it_on_delivers_every_line_once(chaos_hub: str) -> None:
    # Nothing on the command line can drop an upload's connection midway (the
    # library tests do); this proves the replay buffer's pacing (a send waits while
    # more than 100,000 bytes are unacknowledged) loses and repeats nothing.
    lines = "".join(f"line {index}\n" for index in range(50_000))
    result = run(
        "upload", "-v", "--stateful-reconnect", chaos_hub, "UploadSummary",
        stdin=lines,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary == {"count": 50_000, "checksum": hashlib.sha256(lines.encode()).hexdigest()}


@pytest.fixture(scope="module")
def flaky_hub() -> Iterator[serverproc.HubServer]:
    """A network that fails every 0.3 s: --fault drop-transport cuts each
    connection's TCP connection on that period."""
    server = serverproc.start_hub_server(
        "--chaos", "--allow-stateful-reconnect", "--fault", "drop-transport=0.3", "-v"
    )
    yield server
    server.stop()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stream_outlives_a_transport_cut_every_few_tenths(
    flaky_hub: serverproc.HubServer, protocol: str
) -> None:
    # 40 items 50 ms apart: about six cuts while it runs.
    result = run(
        "stream", "-v", "--stateful-reconnect", "-p", protocol, flaky_hub.url,
        "Counter", "40", "50",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(index) for index in range(40)]
    assert result.stderr.count("stateful reconnect: resumed") >= 2, result.stderr


def test_an_upload_outlives_transport_cuts(flaky_hub: serverproc.HubServer) -> None:
    """Half the lines, then (once hubcli says it resumed after a cut) the rest:
    every line arrives once, whichever side of a cut it was sent on."""
    halves = [
        "".join(f"line {index}\n" for index in range(start, start + 20_000))
        for start in (0, 20_000)
    ]
    process = subprocess.Popen(
        [*HUBCLI, "upload", "-v", "--stateful-reconnect", flaky_hub.url, "UploadSummary"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stderr is not None
    process.stdin.write(halves[0])
    process.stdin.flush()
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "stateful reconnect: resumed" in line:
            break
    else:
        raise AssertionError("".join(seen))
    out, err = process.communicate(halves[1], timeout=60)
    assert process.returncode == 0, "".join(seen) + err
    lines = "".join(halves)
    assert json.loads(out) == {
        "count": 40_000,
        "checksum": hashlib.sha256(lines.encode()).hexdigest(),
    }
    assert "transport dropped" in flaky_hub.stderr_text()
