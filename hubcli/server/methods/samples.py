"""The methods of the seed samples the README's first commands use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trio

from hubcli.server.binding import hub_method
from hubcli.server.context import CallContext, Upload

from .uploads import summarize


@hub_method("Counter(count: int, delayMs: int) -> stream<int>")
async def counter(ctx: CallContext, count: int, delay_ms: int) -> AsyncIterator[int]:
    """Streams 0..count-1, pausing delayMs milliseconds after each item."""
    for index in range(count):
        yield index
        await trio.sleep(delay_ms / 1000)


@hub_method("TriggerStream(jobsCount: int) -> stream<string>")
async def trigger_stream(ctx: CallContext, jobs_count: int) -> AsyncIterator[str]:
    """Streams "Job {i} executed successfully" for i in 0..jobsCount-1, one every
    --stream-delay-ms milliseconds."""
    for index in range(jobs_count):
        yield f"Job {index} executed successfully"
        await trio.sleep(ctx.options.stream_delay_ms / 1000)


@hub_method("UploadStream(stream: stream<any>) -> void")
async def upload_stream(ctx: CallContext, stream: Upload) -> Any:
    """Consumes a client stream (recorded as the last upload, see GetLastUpload)."""
    await summarize(ctx, stream)
    return None
