"""JSON for a person at a terminal: indented and coloured, as jq and httpie show it.

stdout stays compact, one value a line, when it is not a terminal (a pipe, a file):
that path does not come through here at all. At a terminal, or when asked with
--pretty / --color, each compact JSON text hubcli would print is re-laid out token
by token. Working on the compact text rather than on Python values keeps every value
exactly as the compact line shows it (integers beyond 64 bits, lone surrogates as
\\u escapes, MessagePack bytes as base64), and the tokens of compact JSON are few:
strings, the six punctuation bytes, and bare scalars (numbers, true, false, null).

Kept small and light (re and orjson, both already loaded by hubcli) so the
interactive `session` shell can reuse it: `choose_style` once, then `render` or
`render_json` for each value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import orjson

# jq 1.7.1's default colours (JQ_COLORS): null bright black, false/true/numbers
# default, strings green, arrays and objects bold, object keys bold blue.
NULL: Final = b"0;90"
FALSE: Final = b"0;39"
TRUE: Final = b"0;39"
NUMBER: Final = b"0;39"
STRING: Final = b"0;32"
PUNCTUATION: Final = b"1;39"
KEY: Final = b"34;1"
_RESET: Final = b"\x1b[0m"

INDENT: Final = b"  "

# A string (any escape, any UTF-8 byte but an unescaped quote or backslash), an empty
# array or object, one punctuation byte, or a run of anything else: a bare scalar.
_TOKEN: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|\[\]|\{\}|[][{},:]|[^][{},:"]+', re.DOTALL)


@dataclass(frozen=True, slots=True)
class Style:
    """How JSON values are shown: indented (`pretty`) and/or with ANSI colours."""

    pretty: bool = False
    color: bool = False

    @property
    def plain(self) -> bool:
        """Compact and colourless: the bytes go out as the encoder made them."""
        return not (self.pretty or self.color)


def choose_style(
    *, pretty: bool | None, color: bool | None, isatty: bool, environ: Mapping[str, str]
) -> Style:
    """The style for a stream: `pretty` and `color` as the command line forced them
    (--pretty/--compact, --color/--no-color; None when not given), else a terminal
    (`isatty`) gets both, anything else neither.

    Colour, when not forced, is off with NO_COLOR set and not empty
    (https://no-color.org) or TERM=dumb. FORCE_COLOR is not read: it is often set
    for a whole CI job, and escape sequences in JSON sent down a pipe would break
    every program reading it; --color is the one way to ask for them there.
    """
    layout = isatty if pretty is None else pretty
    if color is None:
        color = isatty and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"
    return Style(pretty=layout, color=color)


def _paint(code: bytes, token: bytes) -> bytes:
    return b"\x1b[" + code + b"m" + token + _RESET


_PUNCTUATION: Final = (b"[", b"{", b"]", b"}", b",", b":", b"[]", b"{}")
_PAINTED: Final = {token: _paint(PUNCTUATION, token) for token in _PUNCTUATION}
_BARE: Final = {token: token for token in _PUNCTUATION}
# A bare scalar's colour by its first byte: n(ull), t(rue), f(alse), else a number.
_SCALARS: Final = {ord("n"): NULL, ord("t"): TRUE, ord("f"): FALSE}
_QUOTE: Final = ord('"')
_OPENERS: Final = frozenset((b"[", b"{"))
_CLOSERS: Final = frozenset((b"]", b"}"))


def render_json(data: bytes, *, pretty: bool, color: bool) -> bytes:
    """Compact JSON text `data` (one value, no newline) laid out as asked.

    Indentation is two spaces, a key's colon is followed by one, and an empty array
    or object stays `[]` / `{}`, as jq prints them.
    """
    if not (pretty or color):
        return data
    # One C call splits the text; the loop below only joins. In compact JSON a
    # string is a key exactly when a colon follows it, and an empty container is
    # its two brackets side by side (the regex takes them as one token).
    tokens = _TOKEN.findall(data)
    marks = _PAINTED if color else _BARE
    colon = marks[b":"] + b" " if pretty else marks[b":"]
    out = bytearray()
    depth = 0
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        first = token[0]
        if first == _QUOTE:
            if color:
                key = index < last and tokens[index + 1] == b":"
                out += _paint(KEY if key else STRING, token)
            else:
                out += token
        elif token in marks:
            if token == b":":
                out += colon
            elif token == b",":
                out += marks[token]
                if pretty:
                    out += b"\n" + INDENT * depth
            elif token in _OPENERS:
                out += marks[token]
                depth += 1
                if pretty:
                    out += b"\n" + INDENT * depth
            elif token in _CLOSERS:
                depth -= 1
                if pretty:
                    out += b"\n" + INDENT * depth
                out += marks[token]
            else:  # [] or {}
                out += marks[token]
        elif color:
            out += _paint(_SCALARS.get(first, NUMBER), token)
        else:
            out += token
    return bytes(out)


def dumps(value: object) -> bytes:
    """`value` as compact JSON, as hubcli prints it (bytes as base64, datetimes as
    RFC 3339 with Z, integers of any size)."""
    try:
        return orjson.dumps(value, default=_bytes_as_base64, option=orjson.OPT_UTC_Z)
    except TypeError:
        from .output import dumps_plain  # the exact, slower encoders

        return dumps_plain(value)


def _bytes_as_base64(value: object) -> object:
    if isinstance(value, (bytes, bytearray, memoryview)):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError


def render(value: object, *, pretty: bool, color: bool) -> str:
    """A JSON value as text to show (no trailing newline)."""
    # surrogatepass: what the exact encoders could not escape still shows.
    return render_json(dumps(value), pretty=pretty, color=color).decode("utf-8", "surrogatepass")


def restyle_lines(data: bytes, style: Style) -> bytes:
    """Each line of `data` (compact JSON lines, each ending in a newline) restyled."""
    if style.plain or not data:
        return data
    out = bytearray()
    for line in data.split(b"\n")[:-1]:
        out += render_json(line, pretty=style.pretty, color=style.color)
        out += b"\n"
    return bytes(out)
