"""One rule for choices: any case, every command, every choice option."""

from __future__ import annotations

import pytest

from hubcli.devtools import docs
from tests.serverproc import start_hub_server

from .hubcli_process import run

UNREACHABLE = "http://127.0.0.1:9/hub"  # refused: exit 4 once the flags are accepted
ARGS = {"invoke": ["Echo"], "send": ["Echo"], "stream": ["Counter"], "upload": ["UploadSum"]}


def _spellings(command: str, choice: str) -> list[str]:
    # Every case on one command; one on the others, which share the options.
    if command == "invoke":
        return [choice.upper(), choice.capitalize(), choice.capitalize().swapcase()]
    return [choice.upper()]


CHOICES = [
    (command.name, option.names[0], spelling)
    for command in docs.cli_doc().commands
    for option in command.options
    for choice in option.choices
    for spelling in _spellings(command.name, choice)
    # serve takes no URL: its choices are tried by starting it, below.
    if command.name != "serve"
]
SERVE_CHOICES = [
    [option.names[0], choice.upper()]
    for command in docs.cli_doc().commands
    if command.name == "serve"
    for option in command.options
    for choice in option.choices
]


def test_every_choice_option_is_tried() -> None:
    assert {(command, flag) for command, flag, _ in CHOICES} >= {
        (command, flag) for command in ARGS for flag in ("-p", "-t")
    }


@pytest.mark.parametrize(("command", "flag", "choice"), CHOICES)
def test_a_choice_in_any_case_is_accepted(command: str, flag: str, choice: str) -> None:
    result = run(command, flag, choice, UNREACHABLE, *ARGS.get(command, []), stdin="")
    assert result.returncode == 4, result.stderr


@pytest.mark.parametrize(
    "flags",
    [
        ["--transports", "WebSockets,SSE,LongPolling"],
        ["--transports", "serversentevents"],
        ["--fault", "Negotiate-Slow=0"],
        *SERVE_CHOICES,
    ],
)
def test_serve_choices_in_any_case(flags: list[str]) -> None:
    server = start_hub_server(*flags)
    assert server.stop() == 0, server.stderr_text()


def test_reconnect_delays_forever_in_any_case() -> None:
    result = run("listen", "--reconnect-delays", "Forever", UNREACHABLE)
    assert result.returncode == 4, result.stderr


@pytest.mark.parametrize("protocol", ["messagepack", "MessagePack", "MESSAGEPACK"])
@pytest.mark.parametrize(
    "transport", ["sse", "SSE", "Sse", "ServerSentEvents", "serversentevents", "sse,SSE", " sse "]
)
def test_messagepack_over_sse_is_refused_in_every_spelling(protocol: str, transport: str) -> None:
    result = run("invoke", "-p", protocol, "-t", transport, UNREACHABLE, "Echo")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("hubcli: error: MessagePack cannot go over Server-Sent Events")
