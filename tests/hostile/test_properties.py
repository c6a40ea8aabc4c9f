"""No server behaviour is an internal error: hypothesis picks how the hostile server
misbehaves at each step, and the real `hubcli` commands must still end with a
documented exit status (never 1), one `hubcli: error:` line, no traceback, JSON
lines on stdout, and within their time limits.

One test per step keeps each step's behaviours well covered (a hostile negotiate
leaves no later step to test); the last one lets every step misbehave at once.
Examples are derandomized, so a run tests what the previous one did and a failure
shows again on the next run. The counts keep the tests that are not `slow` near a
minute together (each example starts hubcli processes); HOSTILE_EXAMPLES scales
every count, for a longer search (HOSTILE_EXAMPLES=5: about ten minutes).
"""

from __future__ import annotations

import os
from typing import Final, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import COMMANDS, report, run_commands
from .script import (
    Ending,
    Frame,
    Handshake,
    Negotiate,
    Post,
    Record,
    Script,
    Start,
    Trigger,
    Value,
)
from .server import serve

E = TypeVar("E", Negotiate, Start, Post, Handshake)

TRANSPORTS: Final = ("websockets", "sse", "longpolling", "auto")
SCALE: Final = float(os.environ.get("HOSTILE_EXAMPLES", "1"))


def examples(count: int) -> settings:
    return settings(
        max_examples=max(1, round(count * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@st.composite
def connections(draw: st.DrawFn) -> tuple[str, str]:
    """(transport, protocol): MessagePack cannot go over Server-Sent Events."""
    transport = draw(st.sampled_from(TRANSPORTS))
    protocols = ["json"] if transport == "sse" else ["json", "messagepack"]
    return transport, draw(st.sampled_from(protocols))


def mostly_good(behaviours: type[E]) -> st.SearchStrategy[E]:
    """The well-behaved first member half of the time, else any member."""
    members = list(behaviours)
    return st.one_of(st.just(members[0]), st.sampled_from(members))


frames = st.lists(
    st.builds(
        Frame,
        st.lists(st.sampled_from(Record), min_size=1, max_size=4).map(tuple),
        st.booleans(),
    ),
    max_size=3,
).map(tuple)
# Enough for every command to end well: the call's Completion, pushes for listen.
ANSWERED: Final = (
    Frame((Record.INVOCATION, Record.INVOCATION, Record.INVOCATION)),
    Frame((Record.COMPLETION_RESULT,)),
)
commands = st.sampled_from(sorted(COMMANDS))


async def check(script: Script, connection: tuple[str, str], chosen: list[str]) -> None:
    transport, protocol = connection
    async with serve(script) as server:
        outcomes = await run_commands(server.url, transport, protocol, chosen)
    assert not any(outcome.problems for outcome in outcomes), report(
        f"{script.describe()} transport={transport} protocol={protocol}", server.log, outcomes
    )


@examples(24)
@given(
    negotiate=st.sampled_from(Negotiate),
    connection=connections(),
    command=commands,
)
async def test_negotiate(negotiate: Negotiate, connection: tuple[str, str], command: str) -> None:
    script = Script(negotiate=negotiate, frames=ANSWERED, ending=Ending.CLEAN)
    await check(script, connection, [command])


@examples(20)
@given(start=st.sampled_from(Start), connection=connections(), command=commands)
async def test_transport_start(start: Start, connection: tuple[str, str], command: str) -> None:
    script = Script(start=start, frames=ANSWERED, ending=Ending.CLEAN)
    await check(script, connection, [command])


@examples(24)
@given(
    handshake=st.sampled_from(Handshake),
    handshake_post=mostly_good(Post),
    trigger=st.sampled_from(Trigger),
    connection=connections(),
    command=commands,
)
async def test_handshake(
    handshake: Handshake,
    handshake_post: Post,
    trigger: Trigger,
    connection: tuple[str, str],
    command: str,
) -> None:
    script = Script(
        handshake=handshake,
        handshake_post=handshake_post,
        trigger=trigger,
        frames=ANSWERED,
        ending=Ending.CLEAN,
    )
    await check(script, connection, [command])


@examples(10)
@given(
    script=st.builds(
        Script,
        frames=frames,
        trigger=st.sampled_from(Trigger),
        value=st.sampled_from(Value),
        later_posts=mostly_good(Post),
        ending=st.sampled_from(Ending),
    ),
    connection=connections(),
)
async def test_hub_messages_and_endings(script: Script, connection: tuple[str, str]) -> None:
    """Every command at once, as the hub messages matter to each differently."""
    await check(script, connection, sorted(COMMANDS))


@pytest.mark.slow
@examples(30)
@given(
    script=st.builds(
        Script,
        negotiate=mostly_good(Negotiate),
        start=mostly_good(Start),
        handshake_post=mostly_good(Post),
        handshake=mostly_good(Handshake),
        frames=frames,
        trigger=st.sampled_from(Trigger),
        value=st.sampled_from(Value),
        later_posts=mostly_good(Post),
        ending=st.sampled_from(Ending),
    ),
    connection=connections(),
)
async def test_every_step_at_once(script: Script, connection: tuple[str, str]) -> None:
    await check(script, connection, sorted(COMMANDS))
