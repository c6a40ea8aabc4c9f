"""Client results: the hub's ClientResult(method) asks this client for a value."""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser


class ClientResults(SignalRUser):
    wait_time = constant(0.05)

    def on_start(self) -> None:
        super().on_start()
        self.hub.on("GetAnswer", lambda: 42)
        self.hub.on("Refuse", self.refuse)

    def refuse(self) -> None:
        raise LookupError("no answer here")

    @task
    def answered(self) -> None:
        assert self.hub.invoke("ClientResult", "GetAnswer") == 42

    @task
    def refused(self) -> None:
        # ClientResult returns the text of the error the client answered with.
        assert "no answer here" in self.hub.invoke("ClientResult", "Refuse")

    @task
    def unheard(self) -> None:
        assert "no handler for Nobody" in self.hub.invoke("ClientResult", "Nobody")
