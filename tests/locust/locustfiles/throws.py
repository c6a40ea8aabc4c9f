"""A hub method that throws: every call must be a Locust failure with the hub's text."""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser

MESSAGE = "no such order 42"


class Throws(SignalRUser):
    wait_time = constant(0.05)

    @task
    def throw(self) -> None:
        self.hub.invoke("ThrowHubException", MESSAGE)
