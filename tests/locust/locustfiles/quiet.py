"""A server that never pings (serve --keepalive 0) and a user that waits longer
than its server_timeout between calls: each wait loses the connection."""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser


class Quiet(SignalRUser):
    server_timeout = 0.3
    wait_time = constant(0.6)

    @task
    def echo(self) -> None:
        self.hub.invoke("Echo", "x")
