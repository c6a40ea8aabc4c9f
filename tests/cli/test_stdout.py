"""stdout across every command: a failing stdout exits 2, a reader gone exits 0, and
the non-blocking mode hubcli writes with never reaches an open file others share."""

from __future__ import annotations

from pathlib import Path

import pytest

from .hubcli_process import pipeline

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


def test_serve_into_a_full_disk_or_a_closed_pipe_exits_2() -> None:
    # serve's one output is the URL a script needs: without it the hub is of no use.
    for redirect in ("> /dev/full", "| head -c0"):
        result = pipeline(f"hubcli serve --port 0 {redirect}")
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("hubcli: error: cannot write the hub URL to stdout")


def test_send_prints_nothing_so_a_full_disk_is_no_failure(shared_hub_server: str) -> None:
    result = pipeline(f"hubcli send {shared_hub_server} Echo 1 > /dev/full")
    assert (result.returncode, result.stderr) == (0, "")
