"""stdin as upload records: lines (default), NUL-separated records (-0), JSON (--json).

Records are read a chunk at a time and yielded as one list per chunk, so an upload
sends one transport message per chunk rather than per record. Nothing is silently
changed: invalid UTF-8, a line that is not JSON under --json, or a record longer
than the limit (--max-message-size) stops the upload with an error naming the
line. The limit bounds memory too: a record is refused as soon as what was read
of it passes the limit, not after all of it is held (and encoded, and framed).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any, Final

import trio

from hubcli._defaults import DEFAULT_MAX_MESSAGE_SIZE
from hubcli.protocol import jsonvalues
from hubcli.protocol.errors import ProtocolError

from .descriptors import NonBlockingFd
from .errors import StdinError, cannot_read, over_limit

CHUNK_SIZE: Final = 32 * 1024


class RecordDecoder:
    """Turns separated bytes into items, counting records for error messages."""

    def __init__(
        self, *, json_mode: bool, null_separated: bool, limit: int = DEFAULT_MAX_MESSAGE_SIZE
    ) -> None:
        self._json = json_mode
        self._separator = b"\0" if null_separated else b"\n"
        self._lines = not null_separated
        self._noun = "record" if null_separated else "line"
        self.limit = limit
        self.records_seen = 0
        # Of the records longer than a chunk (the only ones that can be large):
        # what a hint about the server's own limit needs.
        self.largest = 0

    def too_large(self, number: int, size: int | None = None) -> StdinError:
        return StdinError(
            over_limit(f"stdin {self._noun} {number}", self.limit, size),
            hint="--max-message-size bounds what hubcli sends too",
        )

    def check_next(self, size: int, *, whole: bool) -> None:
        """Refuse the next record, of `size` bytes so far (`whole`: all of it)."""
        if size > self.limit:
            raise self.too_large(self.records_seen + 1, size if whole else None)
        if whole:
            self.largest = max(self.largest, size)

    def decode(self, data: bytes) -> list[Any]:
        """Items of `data`, whole records joined by the separator (none at the end)."""
        first = self.records_seen + 1
        if len(data) > self.limit:  # only then can one of its records be too long
            for number, piece in enumerate(data.split(self._separator), start=first):
                if len(piece) > self.limit:
                    raise self.too_large(number, len(piece))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            number = first + data.count(self._separator, 0, error.start)
            raise StdinError(f"stdin {self._noun} {number} is not valid UTF-8") from None
        records = text.split(self._separator.decode())
        self.records_seen += len(records)
        if self._lines and "\r" in text:
            records = [record[:-1] if record.endswith("\r") else record for record in records]
        if not self._json:
            return records
        values = []
        for number, record in enumerate(records, start=first):
            if not record.strip():
                continue  # blank lines carry nothing under --json
            try:
                values.append(jsonvalues.loads(record))
            except ProtocolError:
                from .arguments import out_of_range, unrepresentable_number

                literal = unrepresentable_number(record)
                if literal is not None:
                    problem = out_of_range(f"stdin {self._noun} {number}", literal)
                    raise StdinError(str(problem), problem.hint) from None
                shown = record if len(record) <= 60 else f"{record[:57]}..."
                raise StdinError(
                    f"stdin {self._noun} {number} is not valid JSON: {shown}"
                ) from None
        return values

    @property
    def separator(self) -> bytes:
        return self._separator


def check_stdin(fd: int = 0) -> None:
    """Refuse a closed stdin before connecting (its number may belong to a socket later)."""
    try:
        os.fstat(fd)
    except OSError:
        raise StdinError(
            cannot_read("stdin", "it is closed"), hint="upload reads its items from stdin"
        ) from None


async def read_records(
    decoder: RecordDecoder, fd: int = 0, chunk_size: int = CHUNK_SIZE
) -> AsyncIterator[list[Any]]:
    """Batches of stdin records until EOF; a last record needs no separator.

    Each chunk is searched once and a record's pieces are joined once, so a
    record longer than a chunk costs time in proportion to its length (growing
    the remainder chunk by chunk made a 20 MB line take seconds).
    """
    separator = decoder.separator
    pieces: list[bytes] = []  # of the record not yet ended, none empty
    pending = 0  # bytes in pieces
    try:
        source = NonBlockingFd(fd, write=False)
    except OSError as error:
        raise StdinError(cannot_read("stdin", error)) from None
    try:
        while True:
            try:
                chunk = source.read(chunk_size)
            except BlockingIOError:
                await source.wait()
                continue
            except OSError as error:
                raise StdinError(cannot_read("stdin", error)) from None
            await trio.lowlevel.checkpoint()
            if not chunk:
                break
            cut = chunk.rfind(separator)
            if cut < 0:
                pending += len(chunk)
                decoder.check_next(pending, whole=False)
                pieces.append(chunk)
                continue
            if pieces:
                decoder.check_next(pending + chunk.find(separator), whole=True)
                whole = b"".join([*pieces, chunk[:cut]])
            else:
                whole = chunk[:cut]
            rest = chunk[cut + 1 :]
            pieces = [rest] if rest else []
            pending = len(rest)
            yield decoder.decode(whole)
    finally:
        trio.lowlevel.notify_closing(source.fileno)
        source.close()
    if pieces:
        yield decoder.decode(b"".join(pieces))
