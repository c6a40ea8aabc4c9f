"""The record of an upload: how many items and a checksum anyone can recompute.

The checksum is SHA-256 over each item as a line of text (a string as it is, any
other value as compact JSON), so `seq 3 | hubcli upload URL UploadSummary` gives
the same hex digest as `seq 3 | sha256sum`.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from hubcli.protocol import jsonvalues
from hubcli.server.context import CallContext, Upload

log = logging.getLogger("hubcli.server")


def item_line(item: Any) -> bytes:
    if isinstance(item, str):
        return item.encode("utf-8", "surrogatepass") + b"\n"
    return jsonvalues.dumps(item) + b"\n"


async def summarize(ctx: CallContext, stream: Upload) -> dict[str, Any]:
    digest = hashlib.sha256()
    count = 0
    async for item in stream:
        digest.update(item_line(item))
        count += 1
    summary = {"count": count, "checksum": digest.hexdigest()}
    ctx.state.last_upload = summary
    log.info(
        "connection %s: upload completed (%d items, sha256 %s)",
        ctx.connection_id,
        count,
        summary["checksum"],
    )
    return summary
