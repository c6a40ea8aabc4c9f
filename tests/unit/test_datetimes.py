"""DateTime values as ASP.NET Core writes and reads them (hubcli/protocol/datetimes.py)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from hubcli.protocol.datetimes import sent_at, utc_now


def test_utc_now_is_written_as_aspnet_core_writes_a_utc_datetime() -> None:
    text = utc_now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text), text
    moment = sent_at(text)
    assert moment is not None
    assert abs(moment - time.time()) < 60


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1970-01-01T00:00:01.500000Z", 1.5),
        ("1970-01-01T00:00:01.5", 1.5),  # no zone: UTC, as the hub wrote it
        ("1970-01-01T02:00:01+02:00", 1.0),
        (dt.datetime(1970, 1, 1, 0, 0, 2, tzinfo=dt.UTC), 2.0),  # a MessagePack timestamp
        ("not a time", None),
        (12, None),
        (None, None),
    ],
)
def test_sent_at(value: object, seconds: float | None) -> None:
    assert sent_at(value) == seconds
