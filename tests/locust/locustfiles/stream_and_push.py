"""A stream read to a fixed length, and pushes caught by hub.on with a handler.

Run with --signalr-protocol messagepack: binary arguments, which JSON cannot
carry, come back from Echo as they went (an error in a task is in Locust's exit
status).
"""

from typing import Any

from locust import constant, task

from hubcli.locust_signalr import SignalRUser, utc_now

ITEMS = 20


class StreamAndPush(SignalRUser):
    wait_time = constant(0.05)

    def on_start(self) -> None:
        super().on_start()
        self.pushes: list[Any] = []
        self.hub.on("send", self.pushes.append)

    @task
    def echo_binary(self) -> None:
        assert self.hub.invoke("Echo", b"\x00\xff") == b"\x00\xff"

    @task
    def stream(self) -> None:
        items = list(self.hub.stream("StreamTimes", 0, count=ITEMS))
        assert len(items) == ITEMS
        assert all(isinstance(item, str) for item in items)

    @task
    def echo_all(self) -> None:
        pushed = len(self.pushes)
        now = utc_now()
        self.hub.invoke("EchoAll", now)
        # Its own push came before its Completion, and reached the handler (an
        # error in a task is in Locust's exit status).
        assert now in self.pushes[pushed:]
