"""Locust, scenario broadcast: users listen for send(time) pushes (event:send); one
user starts the benchmark hub's Broadcast(seconds) every so often.

    locust -f examples/locust/broadcast.py --host http://127.0.0.1:5000/hub

Against `hubcli serve` the method is BroadcastFor (BROADCAST_METHOD below). The
latency of a push is measured against the server's clock as it is: run the workers
on machines whose clocks are in step (NTP).
"""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser

BROADCAST_METHOD = "BroadcastFor"


class Listener(SignalRUser):
    weight = 20
    wait_time = constant(1)

    def on_start(self) -> None:
        super().on_start()
        self.hub.on("send")

    @task
    def idle(self) -> None:
        pass  # the pushes are the load


class Broadcaster(SignalRUser):
    fixed_count = 1
    wait_time = constant(5)

    @task
    def broadcast(self) -> None:
        self.hub.send(BROADCAST_METHOD, 1)
