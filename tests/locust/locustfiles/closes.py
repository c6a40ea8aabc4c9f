"""The hub ends the connection now and then: the next call connects again."""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser


class Closes(SignalRUser):
    wait_time = constant(0.02)

    def on_start(self) -> None:
        super().on_start()
        self.calls = 0

    @task
    def echo(self) -> None:
        self.calls += 1
        if self.calls % 5 == 0:
            # Close{error} and no Completion: this call fails, with the hub's reason.
            self.hub.invoke("CloseConnection", "closed by the test", False)
        else:
            self.hub.invoke("Echo", "x")
