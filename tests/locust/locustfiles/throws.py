"""Hub methods that throw: every call must be a Locust failure with the hub's text,
and a stream that throws after its items, one failure after those items."""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser

MESSAGE = "no such order 42"
STREAM_MESSAGE = "the stream broke"
ITEMS = 3


class Throws(SignalRUser):
    wait_time = constant(0.05)

    @task
    def throw(self) -> None:
        self.hub.invoke("ThrowHubException", MESSAGE)

    @task
    def stream_then_throw(self) -> None:
        items = list(self.hub.stream("StreamThenThrow", ITEMS, STREAM_MESSAGE))
        assert items == list(range(ITEMS))
