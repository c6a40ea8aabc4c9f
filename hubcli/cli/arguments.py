"""The hub argument rule: each ARG is a JSON literal, other text is a string.

`--strict-json` turns the string fallback into a usage error; `--args` gives the
whole array verbatim (from the option, a file, or stdin); `@stdin` marks where an
upload's stream goes among the ARGs.
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any, Final

from hubcli.protocol import jsonvalues
from hubcli.protocol.errors import ProtocolError

from .errors import UsageError

STDIN_PLACEHOLDER: Final = "@stdin"
logger: Final = logging.getLogger("hubcli")


def unrepresentable_number(text: str) -> str | None:
    """The first number of JSON `text` that no value can hold (1e400 is beyond a
    double, and so is an integer of more digits than Python reads), when `text`
    is JSON apart from that: valid JSON that cannot be sent as it is, and must not
    turn into the string "1e400" either."""
    import json

    found: list[str] = []

    def number(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            found.append(literal)
        return value

    def integer(literal: str) -> int:
        try:
            return int(literal)
        except ValueError:  # over sys.get_int_max_str_digits() digits
            found.append(literal)
            return 0

    def constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        json.loads(text, parse_float=number, parse_int=integer, parse_constant=constant)
    except (ValueError, RecursionError):
        return None
    return found[0] if found else None


def out_of_range(what: str, literal: str) -> UsageError:
    """`what` (e.g. "argument 2") holds the number `literal`, which cannot be sent."""
    shown = literal if len(literal) <= 24 else f"{literal[:21]}... ({len(literal)} characters)"
    if any(mark in literal for mark in ".eE"):
        limit = "a number with a fraction or exponent must fit a double (about 1.8e308)"
    else:
        limit = f"an integer may have up to {sys.get_int_max_str_digits()} digits"
    return UsageError(
        f"{what} holds a number out of range: {shown}",
        hint=f"{limit}; quote it to send it as a string",
    )


def _parse_literal(text: str, *, strict: bool, position: int) -> Any:
    try:
        return jsonvalues.loads(text)
    except ProtocolError:
        number = unrepresentable_number(text)
        if number is not None:
            raise out_of_range(f"argument {position}", number) from None
        if strict:
            raise UsageError(
                f"argument {position} is not valid JSON: {text!r}",
                hint="quote a string as JSON ('\"text\"') or drop --strict-json",
            ) from None
        return text


def _read_args_source(source: str, *, stdin_taken: bool) -> str:
    from .files import ARGS_FILE_LIMIT, read_text

    if source == "@-":
        if stdin_taken:
            raise UsageError("--args @- cannot be used here: stdin carries the upload")
        return read_text("--args @-", 0, ARGS_FILE_LIMIT)
    if source.startswith("@"):
        return read_text(f"--args {source}", source[1:], ARGS_FILE_LIMIT)
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
            number = unrepresentable_number(text)
            if number is not None:
                raise out_of_range("--args", number) from None
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
