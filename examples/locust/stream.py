"""Locust, scenario stream: each user reads 1000 items of StreamTimes(0), each item
reported as stream:StreamTimes, timed from the item before.

    locust -f examples/locust/stream.py --host http://127.0.0.1:5000/hub
"""

from locust import constant, task

from hubcli.locust_signalr import SignalRUser


class Stream(SignalRUser):
    wait_time = constant(0)

    @task
    def stream(self) -> None:
        self.hub.read_stream("StreamTimes", 0, count=1000)
