"""--help, --version and errors: what a person and a script see of hubcli."""

from __future__ import annotations

import fnmatch
import os
import pty
import select
import subprocess
import sys

import pytest

from hubcli.cli import helptext
from hubcli.cli.exit_codes import EXIT_CODE_MEANINGS, ExitCode

HUBCLI = [sys.executable, "-m", "hubcli"]
COMMANDS = ["invoke", "send", "stream", "upload", "serve", "demo"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HUBCLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_version() -> None:
    from hubcli import __version__

    result = _run("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"hubcli {__version__}\n", "")


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_shows_examples_and_exit_codes_in_80_columns(command: str | None) -> None:
    result = _run(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert result.stderr == ""
    text = result.stdout
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert not too_wide, too_wide
    assert "\nExamples:\n" in text
    assert "\nExit status:\n" in text
    examples = helptext.ROOT_EXAMPLES if command is None else helptext.EXAMPLES[command]
    for example in examples:
        assert f"  {example.command}\n" in text  # one line each: \b kept it unwrapped
    codes = EXIT_CODE_MEANINGS if command is None else helptext.EXIT_CODES[command]
    status = text.split("\nExit status:\n", 1)[1]
    assert status.splitlines() == [
        f"  {int(code):>3}  {meaning}" for code, meaning in codes.items()
    ]


def test_send_lists_only_the_statuses_it_can_end_with() -> None:
    status = _run("send", "--help").stdout.split("\nExit status:\n", 1)[1]
    assert "  3  " not in status
    assert "count" not in status
    assert "CancelInvocation" not in status


def _sections(text: str) -> dict[str, list[str]]:
    """The option names under each heading of --help."""
    sections: dict[str, list[str]] = {}
    heading = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            heading = line[:-1]
            sections[heading] = []
        elif heading is not None and line.startswith("  -"):
            sections[heading].append(line.split()[0].rstrip(","))
    return sections


@pytest.mark.parametrize("command", helptext.CLIENT_COMMANDS)
def test_options_stand_under_their_panels(command: str) -> None:
    sections = _sections(_run(command, "--help").stdout)
    assert "-p" in sections["Connection"]
    assert "-H" in sections["HTTP and TLS"]
    assert "--connect-timeout" in sections["Limits"]
    assert "-v" in sections["Output"]
    assert sections["Options"] == ["-h"]


def test_bare_hubcli_prints_help_on_stderr_with_the_usage_status() -> None:
    result = _run()
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: hubcli [OPTIONS] COMMAND [ARGS]...")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stream"], "hubcli: error: missing argument 'URL' (see 'hubcli stream --help')"),
        (["bogus"], "hubcli: error: no such command 'bogus' (see 'hubcli --help')"),
        (
            ["stream", "--cout", "3", "http://h/hub", "M"],
            "hubcli: error: no such option: --cout (Possible options: *--count*) "
            "(see 'hubcli stream --help')",
        ),
        (
            ["invoke", "-p", "xml", "http://h/hub", "M"],
            "hubcli: error: invalid value for '-p' / '--protocol': 'xml' is not one of "
            "'json', 'messagepack' (see 'hubcli invoke --help')",
        ),
        (
            ["invoke", "ftp://h/hub", "M"],
            "hubcli: error: invalid hub URL 'ftp://h/hub': the scheme must be http, https, ws "
            "or wss",
        ),
        (
            ["invoke", "--strict-json", "http://h/hub", "Echo", "hello"],
            "hubcli: error: argument 1 is not valid JSON: 'hello' "
            "(quote a string as JSON ('\"text\"') or drop --strict-json)",
        ),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = _run(*args)
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert fnmatch.fnmatchcase(result.stderr, message + "\n")


def test_serve_cannot_listen_is_one_line(shared_hub_server: str) -> None:
    port = shared_hub_server.rsplit(":", 1)[1].split("/", maxsplit=1)[0]
    result = _run("serve", "--port", port)
    assert result.returncode == ExitCode.CONNECT_FAILED
    assert result.stderr.startswith(f"hubcli: error: cannot serve on 127.0.0.1:{port}: ")
    assert result.stderr.count("\n") == 1


def _run_on_terminal(*args: str, env: dict[str, str]) -> bytes:
    """hubcli with stdout and stderr on one pseudo-terminal: everything it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*HUBCLI, *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, **env},
    )
    os.close(terminal)
    output = bytearray()
    while True:
        readable, _, _ = select.select([controller], [], [], 30)
        if not readable:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the last writer closed the terminal
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=30)
    os.close(controller)
    return bytes(output)


@pytest.mark.parametrize(
    "env",
    [{"TERM": "xterm-256color", "FORCE_COLOR": "1"}, {"TERM": "xterm-256color", "NO_COLOR": "1"}],
)
@pytest.mark.parametrize(
    "args", [["--help"], ["stream", "--help"], ["stream", "--cout"], ["bogus"], []]
)
def test_no_colour_nor_boxes_even_on_a_terminal(args: list[str], env: dict[str, str]) -> None:
    output = _run_on_terminal(*args, env=env)
    assert output
    assert b"\x1b" not in output  # no colour, no cursor movement
    text = output.decode()
    assert not any("\u2500" <= char <= "\u257f" for char in text)  # no box drawing


@pytest.mark.parametrize("args", ["--help", "stream --help", "--version"])
def test_help_into_a_closed_pipe_is_a_success(args: str) -> None:
    hubcli = " ".join([sys.executable, "-m", "hubcli"])
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{hubcli} {args} | true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_serve_options_stand_under_their_panels() -> None:
    sections = _sections(_run("serve", "--help").stdout)
    assert "--host" in sections["Hub"]
    assert "--tls-cert" in sections["TLS"]
    assert "--keepalive" in sections["Limits"]
    assert "--chaos" in sections["Test aids"]
    assert "--allow-stateful-reconnect" in sections["Stateful reconnect"]
    assert sections["Options"] == ["--list-methods", "-v", "-h"]
