"""One rule for every SECONDS option, as in curl: 0 means no limit."""

from __future__ import annotations

import signal

import pytest

from hubcli.devtools import docs
from tests.serverproc import start_hub_server

from .hubcli_process import run
from .test_listen import Listener, _connection_id, ask

SERVE_LIMITS = (
    "--keepalive",
    "--client-timeout",
    "--handshake-timeout",
    "--long-poll-timeout",
    "--disconnect-timeout",
)


def test_every_seconds_option_says_what_0_means() -> None:
    cli = docs.cli_doc()
    assert "0\nmeans no limit (as in curl)" in cli.help
    for command in cli.commands:
        for option in command.options:
            if option.metavar == "SECONDS":
                assert "0: " in option.help, (command.name, option.names)


def test_max_time_0_is_no_limit(shared_hub_server: str) -> None:
    result = run("invoke", "-m", "0", shared_hub_server, "Echo", "1")
    assert (result.returncode, result.stdout, result.stderr) == (0, "1\n", "")


def test_reply_timeout_0_is_no_limit(shared_hub_server: str) -> None:
    url = shared_hub_server
    listener = Listener(url, "--reply-timeout", "0", "--reply-exec", "Q=sleep 0.2; echo 5")
    connection_id = _connection_id(listener)
    assert ask(url, connection_id, "Q", 1) == (0, "5", "")
    listener.process.send_signal(signal.SIGINT)
    assert listener.finish()[0] == 130


@pytest.mark.parametrize("transport", ["websockets", "longpolling"])
def test_serve_takes_0_for_every_limit(transport: str) -> None:
    server = start_hub_server(*(word for flag in SERVE_LIMITS for word in (flag, "0")))
    try:
        result = run("invoke", "-t", transport, server.url, "Echo", "1")
        assert (result.returncode, result.stdout, result.stderr) == (0, "1\n", "")
    finally:
        assert server.stop() == 0, server.stderr_text()
