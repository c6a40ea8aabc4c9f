"""Resuming a stateful connection: a WebSocket request with the id of a connection
whose hub is already running.

The real server (HttpConnectionDispatcher, HttpConnectionContext) lets such a
request in only while resuming is enabled: negotiated with stateful reconnect,
handshake version 2, and not disabled since (by a Close from the client, or by
the hub aborting the connection). If a socket still carries the connection (the
server has not noticed it is dead, or a second client took the id), the new
request takes over: the old socket gets a close frame and some seconds to answer
it, and the new one is accepted only once the old one is gone. The accepted
socket then gets a Sequence and the replay of everything unacknowledged, and no
handshake: the hub never noticed it was gone.

Refusals: 409 (text/plain, empty) when resuming is not enabled, 404 (text/plain,
empty) when the connection was disposed while the old socket let go. An unknown
or expired id is 404 "No Connection with that ID" before it gets here.
"""

from __future__ import annotations

import trio

from .connections import HttpConnection, Status


async def claim(connection: HttpConnection) -> int | None:
    """Wait until no other request carries the connection; the status to refuse
    the resume with, or None to go ahead."""
    await trio.lowlevel.checkpoint()
    while (previous := connection.attachment) is not None:
        previous.take_over()
        await previous.finished.wait()
    if connection.status is Status.DISPOSED:
        return 404
    if not connection.reconnect_enabled:
        return 409
    return None
