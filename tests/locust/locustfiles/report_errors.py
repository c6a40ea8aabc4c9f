"""Loaded beside each locustfile (-f FILE,report_errors.py): the final error report
to $HUBCLI_TEST_LOCUST_ERRORS.

Locust's _failures.csv is written every few seconds, not at the end, and --json
has no errors.
"""

import json
import os
from collections.abc import Callable
from typing import Any

from locust import events
from locust.env import Environment


def write_errors(environment: Environment, **_: Any) -> None:
    assert environment.runner is not None
    errors = list(environment.runner.stats.serialize_errors().values())
    with open(os.environ["HUBCLI_TEST_LOCUST_ERRORS"], "w") as file:
        json.dump(errors, file)


# EventHook.add_listener is untyped.
listen: Callable[..., object] = events.quitting.add_listener
listen(write_errors)
