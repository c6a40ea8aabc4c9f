"""DateTime values as ASP.NET Core writes and reads them in JSON (ISO 8601).

The benchmark hub's methods take and return them (Echo(DateTime), GetCurrentTime,
the broadcast's pushes), and latency is measured from them: the server, `hubcli
bench` and the Locust user share these two functions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def utc_now() -> str:
    """Now, as ASP.NET Core writes a UTC DateTime: microseconds and a 'Z'."""
    now = dt.datetime.now(dt.UTC)
    return now.isoformat(timespec="microseconds").replace("+00:00", "Z")


def sent_at(value: Any) -> float | None:
    """The epoch time a DateTime value says (ISO 8601 text, or a MessagePack
    timestamp already decoded), if it is one; a time without a zone is UTC."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
