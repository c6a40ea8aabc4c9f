"""Long polling: each GET returns what the hub wrote since the last one.

Status semantics of LongPollingServerTransport and HttpConnectionDispatcher: the
first poll answers 200 with an empty body at once (it starts the hub); later polls
wait for data (200 with it), for `poll_timeout` (200 empty), for a newer poll or
a DELETE (204), or for the hub's end (204, and the connection is gone).
"""

from __future__ import annotations

import enum

import trio

from hubcli.server.asgi import TEXT_PLAIN, Receive, Send, respond
from hubcli.server.connections import ConnectionManager, HttpConnection, Status

NO_CACHE_HEADERS = (
    ("cache-control", "no-cache, no-store"),
    ("pragma", "no-cache"),
    ("expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
)
OCTET_STREAM = "application/octet-stream"


class _End(enum.Enum):
    DATA = "data"
    FINISHED = "finished"
    TIMED_OUT = "timed out"
    SUPERSEDED = "superseded"
    DISCONNECTED = "disconnected"


async def serve_poll(
    receive: Receive,
    send: Send,
    connection: HttpConnection,
    manager: ConnectionManager,
    poll_timeout: float,
) -> None:
    # A newer poll ends the pending one (204) and waits until it has answered.
    if connection.poll_scope is not None:
        connection.poll_scope.cancel()
    await connection.poll_done.wait()
    if connection.status is Status.DISPOSED:
        await respond(send, 204, content_type=TEXT_PLAIN, headers=NO_CACHE_HEADERS)
        return
    if connection.status is Status.ACTIVE:
        await respond(send, 409, content_type=TEXT_PLAIN, headers=NO_CACHE_HEADERS)
        return
    connection.set_status(Status.ACTIVE)
    if not connection.application_started:
        manager.start_application(connection)
        connection.set_status(Status.INACTIVE)
        await respond(send, 200, content_type=OCTET_STREAM, headers=NO_CACHE_HEADERS)
        return

    done = trio.Event()
    connection.poll_done = done
    try:
        end, data = await _wait_for_output(receive, connection, poll_timeout)
        # Inactive from now: the answer below is this poll's last act.
        connection.set_status(Status.INACTIVE)
        connection.poll_scope = None
        done.set()
        if end is _End.DATA:
            await respond(send, 200, data, content_type=OCTET_STREAM, headers=NO_CACHE_HEADERS)
        elif end is _End.TIMED_OUT:
            await respond(send, 200, content_type=TEXT_PLAIN, headers=NO_CACHE_HEADERS)
        elif end is not _End.DISCONNECTED:
            await respond(send, 204, content_type=TEXT_PLAIN, headers=NO_CACHE_HEADERS)
        if end is _End.FINISHED:
            manager.dispose(connection)
    finally:
        if not done.is_set():
            connection.set_status(Status.INACTIVE)
            connection.poll_scope = None
            done.set()


async def _wait_for_output(
    receive: Receive, connection: HttpConnection, poll_timeout: float
) -> tuple[_End, bytes]:
    disconnected = False
    scope = trio.CancelScope(deadline=trio.current_time() + poll_timeout)
    connection.poll_scope = scope
    data: bytes | None = b""
    with scope:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                nonlocal disconnected
                while (await receive())["type"] != "http.disconnect":
                    pass
                disconnected = True
                scope.cancel()

            nursery.start_soon(watch)
            data = await connection.outbound.read()
            nursery.cancel_scope.cancel()
    if data is None:
        return _End.FINISHED, b""
    if data:
        return _End.DATA, data
    if disconnected:
        return _End.DISCONNECTED, b""
    if connection.status is Status.DISPOSED:
        return _End.SUPERSEDED, b""
    if trio.current_time() >= scope.deadline:
        return _End.TIMED_OUT, b""
    return _End.SUPERSEDED, b""
