"""Loaded beside each locustfile (-f FILE,report_errors.py): the final error report
and the exceptions raised in the users' code, to $HUBCLI_TEST_LOCUST_ERRORS.

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
    runner = environment.runner
    report = {
        "errors": list(runner.stats.serialize_errors().values()),
        # Exceptions in the users' code (a failed assert in a task), workers' too.
        "exceptions": [
            {"msg": row["msg"], "traceback": row["traceback"], "count": row["count"]}
            for row in runner.exceptions.values()
        ],
    }
    with open(os.environ["HUBCLI_TEST_LOCUST_ERRORS"], "w") as file:
        json.dump(report, file)


# EventHook.add_listener is untyped.
listen: Callable[..., object] = events.quitting.add_listener
listen(write_errors)
