"""One server-to-client Invocation to many connections, as DefaultHubLifetimeManager
sends it.

The message is encoded once per protocol, not once per connection (the real
server's SerializedHubMessage). It is then appended to every recipient's output
before anyone is waited for, the way the real server starts each connection's
WriteAsync and only then awaits the ones that did not finish (Task.WhenAll): a
fast client has the message at once whatever the others do, and the sender waits
until every recipient's output is back under its pause threshold, however long
the slowest one takes. That is the real server's backpressure, so one stalled
client holds up the hub method that sends to it (and so that method's caller),
never the delivery to other clients. A client that goes away stops being waited
for, because its output is completed when its connection ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import trio

from hubcli.protocol import Invocation

from .state import HubClient, HubState


async def send_invocation(
    state: HubState, recipients: Iterable[HubClient], target: str, arguments: list[Any]
) -> None:
    encoded: dict[str, bytes] = {}
    taken: list[HubClient] = []
    for client in recipients:
        protocol = client.protocol
        data = encoded.get(protocol.name)
        if data is None:
            data = encoded[protocol.name] = protocol.encode(Invocation(target, arguments))
        if client.enqueue(data):
            taken.append(client)
    if taken:
        state.count_invocations(len(taken))
    # Only a recipient over its threshold is waited for: a drained() per recipient
    # was a round of the scheduler each, a thousand after a broadcast to 1,000.
    for client in taken:
        if client.backlogged:
            await client.drained()
    await trio.lowlevel.checkpoint()
