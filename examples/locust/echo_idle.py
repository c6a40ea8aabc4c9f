"""Locust, scenario echoIdle: many users, each calling Echo once every 10 s.

locust -f examples/locust/echo_idle.py --host http://127.0.0.1:5000/hub -u 10000
"""

from locust import constant_pacing, task

from hubcli.locust_signalr import SignalRUser, utc_now


class EchoIdle(SignalRUser):
    wait_time = constant_pacing(10)

    @task
    def echo(self) -> None:
        self.hub.invoke("Echo", utc_now())
