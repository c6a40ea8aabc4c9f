"""The hostile server, well-behaved, is a SignalR server hubcli works with: the
control for every test that makes it misbehave (an answer hubcli cannot take from a
good script would be the server's bug, not the client's)."""

from __future__ import annotations

import json

import pytest

from .harness import PATIENT, run_commands
from .script import Ending, Frame, Record, Script, Trigger
from .server import serve

ANSWER = Frame((Record.STREAM_ITEM, Record.COMPLETION_RESULT))
PUSHES = Frame((Record.INVOCATION, Record.INVOCATION, Record.INVOCATION))
EXPECTED_STDOUT = {
    "invoke": "42\n",
    "stream": "42\n",
    "send": "",
    "upload": "42\n",
    "listen": '{"target":"Tick","arguments":[42]}\n' * 3,
}


@pytest.mark.parametrize(
    ("transport", "protocol", "commands"),
    [
        ("websockets", "json", ["invoke", "stream", "send", "upload"]),
        ("websockets", "messagepack", ["invoke"]),
        ("sse", "json", ["stream", "upload"]),
        ("longpolling", "json", ["send", "upload"]),
        ("longpolling", "messagepack", ["invoke"]),
    ],
)
async def test_every_command_succeeds_against_a_good_script(
    transport: str, protocol: str, commands: list[str]
) -> None:
    script = Script(frames=(ANSWER,), ending=Ending.CLEAN)
    async with serve(script) as server:
        outcomes = await run_commands(server.url, transport, protocol, commands, PATIENT)
    for command, outcome in zip(commands, outcomes, strict=True):
        assert (outcome.returncode, outcome.stdout) == (0, EXPECTED_STDOUT[command]), (
            outcome.describe() + "\nserver: " + " | ".join(server.log)
        )


@pytest.mark.parametrize(("transport", "protocol"), [("sse", "json"), ("longpolling", "json")])
async def test_listen_prints_the_pushes(transport: str, protocol: str) -> None:
    script = Script(frames=(PUSHES,), trigger=Trigger.AFTER_HANDSHAKE)
    async with serve(script) as server:
        [outcome] = await run_commands(server.url, transport, protocol, ["listen"], PATIENT)
    assert (outcome.returncode, outcome.stdout) == (0, EXPECTED_STDOUT["listen"])
    assert [json.loads(line)["target"] for line in outcome.stdout.splitlines()] == ["Tick"] * 3
