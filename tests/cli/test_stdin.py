"""stdin records (upload's source) through a real pipe: every record exact, whatever
the chunk boundaries, and read in time proportional to the input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import trio

from hubcli.cli.stdin import RecordDecoder, read_records

from .hubcli_process import HUBCLI, TIMEOUT

TIME = "/usr/bin/time"

_SEARCHES = frozenset({"find", "rfind", "index", "rindex", "count", "split", "partition"})


async def _read(data: bytes, chunk_size: int) -> tuple[list[Any], int]:
    """The records `read_records` makes of `data` written to a pipe, and how many
    bytes it searched for separators (bytes methods called on the way, by length)."""
    searched = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal searched
        owner = getattr(arg, "__self__", None)
        if event == "c_call" and arg.__name__ in _SEARCHES and type(owner) is bytes:
            searched += len(owner)

    read_end, write_end = os.pipe()
    records: list[Any] = []

    async def write() -> None:
        async with trio.lowlevel.FdStream(write_end) as stream:
            await stream.send_all(data)

    decoder = RecordDecoder(json_mode=False, null_separated=False)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(write)
        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            async for batch in read_records(decoder, read_end, chunk_size=chunk_size):
                records.extend(batch)
        finally:
            sys.setprofile(previous)
    os.close(read_end)
    return records, searched


@pytest.mark.parametrize("chunk_size", [1, 3, 1024, 32 * 1024])
async def test_records_are_exact_across_chunk_boundaries(chunk_size: int) -> None:
    lines = ["", "a", "bc", "x" * 500, "", "tail \u00e9", "y" * 4000, "z"]
    data = "\n".join(lines).encode()  # no newline at the end: the last line counts
    records, _ = await _read(data, chunk_size)
    assert records == lines


async def test_a_long_line_is_searched_once() -> None:
    # Growing the remainder and searching it all again per chunk made this
    # quadratic: 256 chunks of 1 KiB searched ~32 MB for a 256 KiB line.
    line = b"x" * 256 * 1024
    records, searched = await _read(line + b"\nnext\n", chunk_size=1024)
    assert records == [line.decode(), "next"]
    assert searched <= 2 * (len(line) + 6)


def _upload(url: str, stdin: Path, *flags: str) -> tuple[int, str]:
    with stdin.open("rb") as source:
        result = subprocess.run(
            [*HUBCLI, "upload", *flags, url, "UploadSummary"],
            stdin=source,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )
    return result.returncode, result.stderr.decode()


def test_a_line_over_the_limit_is_refused_by_number(shared_hub_server: str, tmp_path: Path) -> None:
    source = tmp_path / "lines"
    source.write_bytes(b"a\nb\n" + b"x" * 5000 + b"\nc\n")
    status, err = _upload(shared_hub_server, source, "--max-message-size", "1000")
    assert status == 2
    assert err == (
        "hubcli: error: stdin line 3 is 5000 bytes, larger than the limit of 1000 bytes"
        " (--max-message-size bounds what hubcli sends too)\n"
    )


@pytest.mark.skipif(not Path(TIME).exists(), reason=f"no {TIME} here")
def test_a_50_mb_line_is_refused_before_it_costs_its_size_many_times(
    shared_hub_server: str, tmp_path: Path
) -> None:
    source = tmp_path / "line"
    source.write_bytes(b"x" * 50_000_000 + b"\n")
    # Measured by time(1): its child is forked from it, not from this process,
    # whose pages a child's peak RSS would count until it runs hubcli.
    peak = tmp_path / "peak"
    upload = [*HUBCLI, "upload", shared_hub_server, "UploadSummary"]
    with source.open("rb") as stdin:
        result = subprocess.run(
            [TIME, "-f", "%M", "-o", str(peak), *upload],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.decode().startswith(
        "hubcli: error: stdin line 1 is larger than the limit of 16777216 bytes"
    )
    # Held whole, encoded and framed, the line took ~520 MB; refused while it is
    # read, what is held of it stays under the 16 MiB default limit.
    assert int(peak.read_text().split()[-1]) < 100_000
