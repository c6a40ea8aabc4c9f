"""Locust, scenario echoAll: each user calls EchoAll(now); every user times the
send(now) pushes it gets (event:send).

    locust -f examples/locust/echo_all.py --host http://127.0.0.1:5000/hub
"""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser, utc_now


class EchoAll(SignalRUser):
    wait_time = constant(0.1)

    def on_start(self) -> None:
        super().on_start()
        self.hub.on("send")

    @task
    def echo_all(self) -> None:
        self.hub.invoke("EchoAll", utc_now())
