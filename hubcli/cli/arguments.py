"""The hub argument rule: each ARG is a JSON literal, other text is a string.

`--strict-json` turns the string fallback into a usage error; `--args` gives the
whole array verbatim (from the option, a file, or stdin); `@stdin` marks where an
upload's stream goes among the ARGs.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Final

from hubcli.protocol import jsonvalues
from hubcli.protocol.errors import ProtocolError

from .errors import UsageError, cannot_read

STDIN_PLACEHOLDER: Final = "@stdin"
logger: Final = logging.getLogger("hubcli")


def _parse_literal(text: str, *, strict: bool, position: int) -> Any:
    try:
        return jsonvalues.loads(text)
    except ProtocolError:
        if strict:
            raise UsageError(
                f"argument {position} is not valid JSON: {text!r}",
                hint="quote a string as JSON ('\"text\"') or drop --strict-json",
            ) from None
        return text


def _read_args_source(source: str, *, stdin_taken: bool) -> str:
    if source == "@-":
        if stdin_taken:
            raise UsageError("--args @- cannot be used here: stdin carries the upload")
        return sys.stdin.read()
    if source.startswith("@"):
        try:
            return Path(source[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(cannot_read(f"--args {source}", error)) from None
    return source


def parse_arguments(
    args: list[str] | None,
    args_option: str | None,
    *,
    strict: bool,
    upload: bool = False,
) -> tuple[list[Any], int]:
    """The argument values, and where an upload's stream goes among them.

    The position only matters to the reader of `-v`: on the wire stream arguments
    travel as stream ids, not inside the argument array.
    """
    args = args or []
    if args_option is not None:
        if args:
            raise UsageError("give hub arguments either as ARGs or with --args, not both")
        text = _read_args_source(args_option, stdin_taken=upload)
        try:
            values = jsonvalues.loads(text)
        except ProtocolError:
            raise UsageError("--args is not valid JSON", hint="--args takes a JSON array") from None
        if not isinstance(values, list):
            raise UsageError("--args must be a JSON array", hint="e.g. --args '[1, \"two\"]'")
        return values, len(values)
    values = []
    stream_position: int | None = None
    for position, text in enumerate(args, start=1):
        if upload and text == STDIN_PLACEHOLDER:
            if stream_position is not None:
                raise UsageError(f"{STDIN_PLACEHOLDER} may stand only once among the ARGs")
            stream_position = len(values)
            continue
        values.append(_parse_literal(text, strict=strict, position=position))
    return values, len(values) if stream_position is None else stream_position


def describe_arguments(values: list[Any]) -> str:
    try:
        return jsonvalues.dumps(values).decode("utf-8", "replace")
    except TypeError:
        return repr(values)
