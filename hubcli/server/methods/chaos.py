"""The chaos hub: methods that break the caller's connection as a network would.

They need `hubcli serve --chaos` (a TCP relay the server can cut, chaos.py) and
fail with a HubException without it, or over long polling. Resuming needs
`--allow-stateful-reconnect` and a client that negotiated it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio

from hubcli.server.binding import hub_method
from hubcli.server.context import CallContext


@hub_method("DropTransport() -> void")
async def drop_transport(ctx: CallContext) -> None:
    """Resets the caller's TCP connection (no Close message, no WebSocket close
    frame), as a network fault does; a stateful connection stays resumable for
    --disconnect-timeout, and this call's result comes with the replay. Needs
    --chaos."""
    ctx.connection.drop_transport(forget=False)
    await trio.lowlevel.checkpoint()


@hub_method("DropConnection() -> void")
async def drop_connection(ctx: CallContext) -> None:
    """As DropTransport, and the server forgets the connection at once: a resume
    gets 404, so the client must negotiate a new one. Needs --chaos."""
    ctx.connection.drop_transport(forget=True)
    await trio.lowlevel.checkpoint()


@hub_method("ResumableCounter(count: int, delayMs: int, dropAfter: int) -> stream<int>")
async def resumable_counter(
    ctx: CallContext, count: int, delay_ms: int, drop_after: int
) -> AsyncIterator[int]:
    """Streams 0..count-1, pausing delayMs milliseconds after each item, and drops
    the transport (as DropTransport) once, right after item dropAfter was written.
    Needs --chaos."""
    for index in range(count):
        yield index
        if index == drop_after:
            ctx.connection.drop_transport(forget=False)
        await trio.sleep(delay_ms / 1000)


@hub_method("AbortAfter(delayMs: int) -> void")
async def abort_after(ctx: CallContext, delay_ms: int) -> None:
    """Completes at once; delayMs milliseconds later ends the connection as a hub's
    Context.Abort() does (Close without error or allowReconnect), which refuses a
    resume (409) even while the transport is gone."""

    async def abort() -> None:
        await trio.sleep(max(delay_ms, 0) / 1000)
        ctx.close_connection(None, allow_reconnect=False)

    ctx.start_after_completion(abort)
