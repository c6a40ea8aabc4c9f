"""A hub method that throws: every call must be a Locust failure with the hub's text.

Locust's _failures.csv is written every few seconds, not at the end, and --json
has no errors: the final error report is written to $HUBCLI_TEST_LOCUST_ERRORS.
"""

import json
import os
from collections.abc import Callable
from typing import Any

from locust import constant, events, task
from locust.env import Environment

from hubcli.locust_signalr import SignalRUser

MESSAGE = "no such order 42"


class Throws(SignalRUser):
    wait_time = constant(0.05)

    @task
    def throw(self) -> None:
        self.hub.invoke("ThrowHubException", MESSAGE)


def write_errors(environment: Environment, **_: Any) -> None:
    assert environment.runner is not None
    errors = list(environment.runner.stats.serialize_errors().values())
    with open(os.environ["HUBCLI_TEST_LOCUST_ERRORS"], "w") as file:
        json.dump(errors, file)


# EventHook.add_listener is untyped.
listen: Callable[..., object] = events.quitting.add_listener
listen(write_errors)
