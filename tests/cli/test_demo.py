"""`hubcli demo` shows the whole tool working against the built-in hub."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest


def test_demo_runs_every_example_against_the_built_in_hub() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubcli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    url = re.search(r"serving on (http://127\.0\.0\.1:\d+/hub)", out)
    assert url is not None, out
    hub = url.group(1)
    assert f'$ hubcli invoke {hub} Echo \'{{"a":1}}\'\n{{"a":1}}\n' in out
    assert f"$ hubcli stream {hub} Counter 5 100\n0\n1\n2\n3\n4\n" in out
    assert f"$ hubcli stream -n 3 {hub} Forever 50\n0\n1\n2\n\n" in out
    assert '"Job 2 executed successfully"' in out
    # sha256 of "alpha\nbeta\ngamma\n": the upload arrived whole and in order.
    assert '{"count":3,"checksum":"4fdbc441ea7b546100e086ac1e4fc5ae' in out
    # The listener in the background printed what the send delivered to its group.
    assert "ReceiveMessage --call 'JoinGroup demo' &\n" in out
    assert re.search(r'\{"target":"ReceiveMessage","arguments":\["[^"]+","hello, group"\]\}\n', out)
    assert "(exit status 3)" in out
    assert "HubException: out of coffee" in result.stderr


def _start_demo() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hubcli", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"]
)
def test_demo_stops_cleanly_on_a_signal(signum: signal.Signals, status: int) -> None:
    demo = _start_demo()
    assert demo.stdout is not None
    for line in demo.stdout:
        if line.startswith("$ hubcli stream"):
            break  # the hub is up and an example is running
    demo.send_signal(signum)
    _, err = demo.communicate(timeout=30)
    assert demo.returncode == status
    assert "Traceback" not in err


def test_demo_into_a_closed_pipe_exits_quietly() -> None:
    demo = _start_demo()
    assert demo.stdout is not None
    assert demo.stderr is not None
    assert demo.stdout.readline().startswith("Built-in hub serving on")
    demo.stdout.close()  # the reader goes away, like `hubcli demo | head -n 1`
    assert demo.wait(timeout=30) == 0
    assert demo.stderr.read() == ""
