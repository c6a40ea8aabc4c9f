"""invoke, stream, listen and upload at a real terminal (a pseudo-terminal as stdout)
and down a pipe, against a real `hubcli serve`: pretty, coloured JSON for eyes,
compact lines for programs, and the flags and NO_COLOR that force either."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess

import pytest

from tests.cli.hubcli_process import HUBCLI, TIMEOUT
from tests.cli.pty_output import read_until_closed

ESC = "\x1b["
ANSI = re.compile(r"\x1b\[[0-9;]*m")
VALUE = '{"a":[1,"x\\"y"],"b":null}'
PRETTY = '{\n  "a": [\n    1,\n    "x\\"y"\n  ],\n  "b": null\n}\n'
COMPACT = VALUE + "\n"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    return {**env, "TERM": "xterm-256color", **extra}


def at_terminal(*args: str, stdin: bytes = b"", **env: str) -> tuple[int, str]:
    """Run hubcli with a pseudo-terminal as its stdout; its exit status and all it
    printed there (the terminal's \\r\\n turned back into \\n)."""
    main, child = pty.openpty()
    try:
        process = subprocess.Popen(
            [*HUBCLI, *args],
            stdin=subprocess.PIPE,
            stdout=child,
            stderr=subprocess.PIPE,
            env=_env(**env),
        )
    finally:
        os.close(child)
    assert process.stdin is not None
    process.stdin.write(stdin)
    process.stdin.close()
    screen = read_until_closed(main)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    status = process.wait(timeout=TIMEOUT)
    assert status == 0 or stderr, stderr
    return status, screen


def down_a_pipe(*args: str, **env: str) -> str:
    result = subprocess.run(
        [*HUBCLI, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_env(**env),
        timeout=TIMEOUT,
        check=True,
    )
    return result.stdout.decode()


def test_invoke_at_a_terminal_prints_pretty_coloured_json(shared_hub_server: str) -> None:
    status, shown = at_terminal("invoke", shared_hub_server, "Echo", VALUE)
    assert status == 0
    assert ESC in shown
    assert '\x1b[34;1m"a"\x1b[0m' in shown  # a key, bold blue as in jq
    assert "\x1b[0;90mnull\x1b[0m" in shown
    assert ANSI.sub("", shown) == PRETTY


def test_invoke_down_a_pipe_prints_one_compact_line(shared_hub_server: str) -> None:
    assert down_a_pipe("invoke", shared_hub_server, "Echo", VALUE) == COMPACT


def test_no_color_keeps_the_layout_and_drops_the_colour(shared_hub_server: str) -> None:
    _, shown = at_terminal("invoke", shared_hub_server, "Echo", VALUE, NO_COLOR="1")
    assert shown == PRETTY
    _, shown = at_terminal("invoke", "--no-color", shared_hub_server, "Echo", VALUE)
    assert shown == PRETTY
    # Empty is not set (no-color.org).
    _, shown = at_terminal("invoke", shared_hub_server, "Echo", VALUE, NO_COLOR="")
    assert ESC in shown


def test_compact_at_a_terminal_is_one_line_still_coloured(shared_hub_server: str) -> None:
    _, shown = at_terminal("invoke", "--compact", shared_hub_server, "Echo", VALUE)
    assert ESC in shown
    assert ANSI.sub("", shown) == COMPACT
    _, shown = at_terminal("invoke", "--compact", "--no-color", shared_hub_server, "Echo", VALUE)
    assert shown == COMPACT


def test_pretty_and_color_force_the_layout_down_a_pipe(shared_hub_server: str) -> None:
    assert down_a_pipe("invoke", "--pretty", shared_hub_server, "Echo", VALUE) == PRETTY
    shown = down_a_pipe("invoke", "--pretty", "--color", shared_hub_server, "Echo", VALUE)
    assert ESC in shown
    assert ANSI.sub("", shown) == PRETTY
    # FORCE_COLOR is no reason to put escape sequences into piped JSON.
    assert down_a_pipe("invoke", shared_hub_server, "Echo", VALUE, FORCE_COLOR="1") == COMPACT


def test_stream_items_at_a_terminal_are_pretty_each(shared_hub_server: str) -> None:
    _, shown = at_terminal("stream", "--no-color", shared_hub_server, "FastObjects", "2")
    piped = down_a_pipe("stream", shared_hub_server, "FastObjects", "2").splitlines()
    assert len(piped) == 2
    expected = "".join(json.dumps(json.loads(line), indent=2) + "\n" for line in piped)
    assert shown == expected
    _, coloured = at_terminal("stream", shared_hub_server, "Counter", "3", "0")
    assert ANSI.sub("", coloured) == "0\n1\n2\n"
    assert coloured.count("\x1b[0;39m") == 3


def test_raw_strings_stay_text_at_a_terminal(shared_hub_server: str) -> None:
    _, shown = at_terminal("invoke", "-r", shared_hub_server, "Echo", '"a\\"b"')
    assert shown == 'a"b\n'


@pytest.mark.parametrize("envelope", [False, True])
def test_listen_events_at_a_terminal_are_pretty(shared_hub_server: str, envelope: bool) -> None:
    args = [
        "listen",
        shared_hub_server,
        "-n",
        "1",
        "--no-color",
        "--call",
        "SendToCaller me hi",
        *(["-J"] if envelope else []),
    ]
    _, shown = at_terminal(*args)
    piped = down_a_pipe(*[arg for arg in args if arg != "--no-color"])
    assert piped.count("\n") == 1
    assert shown == json.dumps(json.loads(piped), indent=2) + "\n"
    assert shown.count("\n") > 3


def test_upload_result_at_a_terminal_is_pretty(shared_hub_server: str) -> None:
    _, shown = at_terminal("upload", "--no-color", shared_hub_server, "UploadSummary", stdin=b"a\n")
    piped = subprocess.run(
        [*HUBCLI, "upload", shared_hub_server, "UploadSummary"],
        input=b"a\n",
        capture_output=True,
        env=_env(),
        timeout=TIMEOUT,
        check=True,
    ).stdout.decode()
    assert shown == json.dumps(json.loads(piped), indent=2) + "\n"


def test_messagepack_values_at_a_terminal_are_the_piped_json_indented(
    shared_hub_server: str,
) -> None:
    # Binary as base64 and a timestamp as RFC 3339, as on a pipe, then laid out.
    args = ["invoke", "-p", "messagepack", shared_hub_server, "SendComplexObject"]
    _, shown = at_terminal(*args, NO_COLOR="1")
    piped = down_a_pipe(*args)
    assert shown == json.dumps(json.loads(piped), indent=2, ensure_ascii=False) + "\n"
