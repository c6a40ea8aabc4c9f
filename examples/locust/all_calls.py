"""Locust: every kind of call the SignalR user makes, each with its own name in the
statistics (invoke:Echo, invoke:EchoAll, send:SendPayload, stream:StreamTimes,
event:send).

    locust -f examples/locust/all_calls.py --host http://127.0.0.1:5000/hub
"""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser, utc_now


class AllCalls(SignalRUser):
    wait_time = constant(0.1)
    protocol = "json"  # or "messagepack"; None: --signalr-protocol

    def on_start(self) -> None:
        super().on_start()  # connects (reported as connect)
        self.pushes = 0
        self.hub.on("send", self.pushed)  # each push: event:send, then the handler

    def pushed(self, time: str) -> None:
        self.pushes += 1

    @task
    def calls(self) -> None:
        self.hub.invoke("Echo", utc_now())  # waits for the result, and returns it
        self.hub.invoke("EchoAll", utc_now())  # a push to every user
        self.hub.send("SendPayload", "x" * 256)  # no answer awaited
        for _item in self.hub.stream("StreamTimes", 0, count=100):
            pass  # leaving early cancels the stream on the hub
