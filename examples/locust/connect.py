"""Locust, scenario connect: connect, call Echo once, close, again (connect and
invoke:Echo in the statistics).

    locust -f examples/locust/connect.py --host http://127.0.0.1:5000/hub
"""

from locust import constant, task

from hubcli.locust_signalr import LocustHub, SignalRConnection, SignalRUser, utc_now


class Connect(SignalRUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        pass  # each task makes its own connection

    def on_stop(self) -> None:
        pass

    @task
    def connect_and_echo(self) -> None:
        hub = LocustHub(SignalRConnection(self.host or ""), self.environment.events.request)
        try:
            hub.connect()
        except Exception:
            return  # reported as a failed connect
        try:
            hub.invoke("Echo", utc_now())
        finally:
            hub.close()
