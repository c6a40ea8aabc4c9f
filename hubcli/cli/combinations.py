"""Options that would do nothing beside the others given: usage errors, all in
one table, so a user who typed an option learns it was ignored instead of
wondering why it did not work (`upload -n 3` without --stream counted nothing).

Only what the user gave counts (click knows where each value came from): a
default never makes a combination wrong.

The layout and colour flags (--pretty/--compact, --color/--no-color) have no rule
here: each works beside every other output option. --compact --color gives
coloured lines (jq -c -C), --pretty --no-color indented plain text, -r prints
strings as text and still lays out other values, -J lays out the records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .errors import UsageError

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Idle:
    """`option` (a parameter's name, shown as `flag`) does nothing unless `works`."""

    option: str
    flag: str
    works: Callable[[Params], bool]
    why: str  # "without --stream", "with -J/--envelope"


def _has_token(params: Params) -> bool:
    return bool(params.get("token") or params.get("token_file") or os.environ.get("HUBCLI_TOKEN"))


def _offers(transport: str) -> Callable[[Params], bool]:
    def offered(params: Params) -> bool:
        names = str(params.get("transports") or "").lower().replace(" ", "").split(",")
        return transport in names

    return offered


_TOKEN_IN_QUERY: Final = Idle(
    "token_in_query",
    "--token-in-query",
    _has_token,
    "without a token (--token, --token-file or HUBCLI_TOKEN)",
)
_RAW: Final = Idle("raw", "-r/--raw", lambda p: not p.get("envelope"), "with -J/--envelope")
_STRICT_WITH_ARGS: Final = Idle(
    "strict_json",
    "--strict-json",
    lambda p: p.get("args_json") is None,
    "with --args (which is JSON as a whole)",
)

IDLE: Final[dict[str, tuple[Idle, ...]]] = {
    "invoke": (_TOKEN_IN_QUERY, _RAW, _STRICT_WITH_ARGS),
    "send": (_TOKEN_IN_QUERY, _STRICT_WITH_ARGS),
    "stream": (_TOKEN_IN_QUERY, _RAW, _STRICT_WITH_ARGS),
    "upload": (
        _TOKEN_IN_QUERY,
        _RAW,
        _STRICT_WITH_ARGS,
        Idle("count", "-n/--count", lambda p: bool(p.get("stream_back")), "without --stream"),
    ),
    "listen": (
        _TOKEN_IN_QUERY,
        Idle(
            "strict_json",
            "--strict-json",
            lambda p: bool(p.get("calls") or p.get("replies")),
            "without --call or --reply",
        ),
        Idle(
            "reply_timeout",
            "--reply-timeout",
            lambda p: bool(p.get("reply_commands")),
            "without --reply-exec",
        ),
    ),
    "bench": (
        _TOKEN_IN_QUERY,
        Idle(
            "interval",
            "--interval",
            lambda p: str(p.get("scenario")) == "echoIdle",
            "without -s echoIdle",
        ),
    ),
    "serve": (
        Idle(
            "stateful_reconnect_buffer_size",
            "--stateful-reconnect-buffer-size",
            lambda p: bool(p.get("allow_stateful_reconnect")),
            "without --allow-stateful-reconnect",
        ),
        Idle(
            "long_poll_timeout",
            "--long-poll-timeout",
            _offers("longpolling"),
            "when --transports has no longpolling",
        ),
        Idle(
            "break_websockets",
            "--break-websockets",
            _offers("websockets"),
            "when --transports has no websockets",
        ),
    ),
}

# Options that make a command do something else entirely: beside them, every
# other option given is idle.
ALONE: Final[dict[str, tuple[str, str]]] = {"serve": ("list_methods", "--list-methods")}


def given_options(ctx: Any) -> set[str]:
    """The parameters of `ctx` (a typer.Context) that the user gave, on the command
    line or through an environment variable."""
    given = set()
    for name in ctx.params:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            given.add(name)
    return given


def check_combinations(command: str, ctx: Any) -> None:
    """UsageError for the first option given that does nothing beside the others."""
    given = given_options(ctx)
    params: Params = ctx.params
    alone = ALONE.get(command)
    if alone is not None and alone[0] in given:
        others = sorted(given - {alone[0]})
        if others:
            flag = _flag(ctx, others[0])
            raise UsageError(f"{flag} does nothing with {alone[1]}")
    for idle in IDLE.get(command, ()):
        if idle.option in given and not idle.works(params):
            raise UsageError(f"{idle.flag} does nothing {idle.why}")


def _flag(ctx: Any, name: str) -> str:
    for param in ctx.command.params:
        if param.name == name:
            return str(max(param.opts, key=len))
    return name
