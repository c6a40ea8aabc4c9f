"""signalrcore (threads) as a benchmark client, beside bench/node_client.cjs.

    python signalrcore_client.py stream URL METHOD [JSON_ARG...]   count the items, print the count
    python signalrcore_client.py invoke URL METHOD [JSON_ARG...]   print the result as JSON

Runs in bench/.venv-others (signalrcore is not a hubcli dependency), which
bench/python_clients_bench.py creates. JSON protocol over WebSockets, after negotiate,
the library's defaults otherwise (its logger has no handler: only WARNING and up show).
Callbacks run on signalrcore's receive thread; the main thread waits on an Event.

Two quirks of signalrcore 1.0.2 are worked around here, neither costing any time:

- stream() sends the StreamInvocation (hub/base_hub_connection.py:450) before it returns
  the StreamHandler that subscribe() configures, so items that beat the caller's
  subscribe() go to the handler's default callbacks, which log a warning and drop them
  (hub/handlers.py:9-17). The handler class stream() builds is swapped for one that is
  subscribed from birth.
- stop() closes the socket (transport/sockets/base_socket_client.py:151-159, dispose:
  sock.close(), then recv_thread.join()), but closing a descriptor does not wake a thread
  blocked in recv() on it, so stop() hangs until the server next sends something: its
  keep-alive Ping, up to 15 s later. The socket is shut down first, which wakes the
  receive thread at once. --plain-stop leaves that out, to show what a user of stop()
  alone waits.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from typing import Any

from signalrcore.hub import base_hub_connection
from signalrcore.hub.handlers import StreamHandler
from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.types import HttpTransportType

TIMEOUT = 600.0


def run(mode: str, url: str, method: str, arguments: list[Any], plain_stop: bool) -> Any:
    connection = (
        HubConnectionBuilder()
        .with_url(url, options={"transport": HttpTransportType.web_sockets})
        .build()
    )
    opened = threading.Event()
    finished = threading.Event()
    outcome: dict[str, Any] = {}
    count = 0

    def finish(key: str, value: Any) -> None:
        if not outcome:  # the first outcome counts: stop() also fires on_close
            outcome[key] = value
        finished.set()

    def on_next(item: Any) -> None:
        nonlocal count
        count += 1

    callbacks = {
        "next": on_next,
        "complete": lambda message: finish("result", count),
        "error": lambda message: finish("error", f"stream error: {vars(message)}"),
    }

    class SubscribedStreamHandler(StreamHandler):
        def __init__(self, event: str, invocation_id: str) -> None:
            super().__init__(event, invocation_id)
            self.subscribe(callbacks)

    base_hub_connection.StreamHandler = SubscribedStreamHandler

    connection.on_open(opened.set)
    connection.on_close(lambda: finish("error", "connection closed before the call completed"))
    # A Completion with an error goes to the connection's on_error, never to the
    # stream's own "error" callback (hub/base_hub_connection.py:347-348).
    connection.on_error(lambda message: finish("error", f"hub error: {message.error}"))
    connection.start()
    try:
        if not opened.wait(TIMEOUT):
            raise RuntimeError("signalrcore did not connect")
        if mode == "stream":
            connection.stream(method, arguments).subscribe(callbacks)
        else:
            connection.invoke(
                method, arguments, on_invocation=lambda message: finish("result", message.result)
            )
        if not finished.wait(TIMEOUT):
            raise RuntimeError("no completion")
    finally:
        client = getattr(connection.transport, "_client", None)
        if not plain_stop and client is not None and client.sock is not None:
            with contextlib.suppress(OSError):
                client.sock.shutdown(socket.SHUT_RDWR)
        connection.stop()
    if "error" in outcome:
        raise RuntimeError(outcome["error"])
    return outcome["result"]


def main() -> None:
    args = sys.argv[1:]
    plain_stop = "--plain-stop" in args
    mode, url, method, *raw = [arg for arg in args if arg != "--plain-stop"]
    if mode not in ("stream", "invoke"):
        raise SystemExit(f"unknown mode {mode!r}: stream or invoke")
    result = run(mode, url, method, [json.loads(text) for text in raw], plain_stop)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
