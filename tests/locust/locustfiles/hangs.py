"""Calls that outlast their timeout: an invoke the hub answers after 0.6 s, and a
stream whose items are 5 s apart; then an Echo on the same connection, which
waits there for the slow call to end (the hub runs a connection's calls one at
a time) and is answered."""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser


class Hangs(SignalRUser):
    call_timeout = 0.2
    wait_time = constant(0)

    @task
    def hang(self) -> None:
        self.hub.invoke("Slow", 600)
        self.hub.read_stream("Forever", 5000, timeout=1.5)
        self.hub.invoke("Echo", "still here", timeout=5)
