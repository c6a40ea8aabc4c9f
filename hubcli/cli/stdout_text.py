"""sys.stdout for the text that goes through Python's stream rather than hubcli's
own writer: --help, --version, serve's URL and --list-methods.

typer writes help with click's echo, and lets an OSError from it escape like any
bug's; it reports a closed descriptor not at all (echo skips a missing stdout).
This stream fails the same way in both cases and remembers its failure, so that
main() can tell "stdout cannot take the text" (exit 2, or 0 for a reader that
left) from an internal error without looking at where the error came from.
"""

from __future__ import annotations

import errno
import io
from typing import TextIO


class TextStdout(io.TextIOBase):
    """Writes to `stream` (None when descriptor 1 was closed at start-up)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self._stream = stream
        self.failure: OSError | None = None

    @property
    def encoding(self) -> str:  # type: ignore[override]  # io declares it read-only
        return self._stream.encoding if self._stream is not None else "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors if self._stream is not None else "strict"

    def _failed(self, error: OSError) -> OSError:
        # The first failure stands for all: main() knows it by identity.
        if self.failure is None:
            self.failure = error
        return self.failure

    def _open_stream(self) -> TextIO:
        if self._stream is None:
            raise self._failed(OSError(errno.EBADF, "it is closed"))
        return self._stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            # As a text file does: click probes with b"" whether a stream is binary.
            raise TypeError("write() argument must be str")
        stream = self._open_stream()
        try:
            return stream.write(text)
        except OSError as error:
            raise self._failed(error) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except OSError as error:
            raise self._failed(error) from None

    def fileno(self) -> int:
        return self._open_stream().fileno()

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def writable(self) -> bool:
        return True

    def discard(self) -> None:
        """Drop what could not be written, so the interpreter's flush at exit does
        not fail again with a second message."""
        self._stream = None
