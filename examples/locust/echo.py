"""Locust, scenario echo: each user calls Echo(now) in a closed loop.

locust -f examples/locust/echo.py --host http://127.0.0.1:5000/hub
"""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser, utc_now


class Echo(SignalRUser):
    wait_time = constant(0)

    @task
    def echo(self) -> None:
        self.hub.invoke("Echo", utc_now())  # reported as invoke:Echo
