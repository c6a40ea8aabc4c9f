"""A property sweep of the command line: argv, environment and stdin of every
shape, each a real `hubcli` process (against a real `hubcli serve` when it
connects). Whatever the input: never exit 1, never a traceback, and a failure
is exactly one `hubcli: error:` line on stderr.

CI runs a fixed set of examples (derandomized, about 30 s); for a deeper,
random sweep: HUBCLI_SWEEP=10 (ten times the examples, fresh ones each run).
"""

from __future__ import annotations

import os
import subprocess
from typing import Final

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from .hubcli_process import HUBCLI

SCALE: Final = float(os.environ.get("HUBCLI_SWEEP", "0") or 0)
DEEP: Final = SCALE > 0
EXAMPLES: Final = max(1, round(45 * (SCALE or 1)))

# Odd values an option or argument may get.
ODD: Final = (
    "",
    " ",
    "0",
    "-1",
    "nan",
    "inf",
    "1e400",
    "-",
    "--",
    "@",
    "@-",
    "@/dev/null",
    "@/",
    "/dev/null",
    "/",
    "x" * 5000,
    "é\u202e\U0001f600",
    "\x1b[31m",
    "a\nb",
    "=",
    ":",
    "'",
    '"',
    "{",
    "[1,",
    "null",
    '{"a":[1,2,{"b":null}]}',
    "auto,,",
    "SSE",
    "MessagePack",
    "forever",
    "*",
)
SAFE_TIME: Final = ("0", "0.5", "1", "2")

# Every option of the client commands but -m/--max-time, which the sweep sets
# first so no run outlasts it; with the values each takes (None: a flag).
OPTIONS: Final[dict[str, tuple[str, ...] | None]] = {
    "-p": ("json", "messagepack", "JSON", "x"),
    "-t": ("auto", "websockets", "sse", "longpolling", "ServerSentEvents", "sse,longpolling", ""),
    "--skip-negotiation": None,
    # A user's header replaces hubcli's own (Host), 'Name:' removes one, framing
    # headers are refused (Content-Length): curl's rules.
    "-H": (
        "X-A: 1",
        "Authorization: Bearer t",
        "bad",
        ": x",
        "X-B:",
        "Host: x",
        "Host:",
        "Content-Length: 5",
        "Transfer-Encoding: chunked",
    ),
    "--token": ("t", "", "a b", "é"),
    "--token-file": ("/dev/null", "/", "/nonexistent"),
    "--token-in-query": None,
    "-b": ("a=1", "a=1; b=2", "/dev/null", "=", "/"),
    "--cacert": ("/dev/null", "/"),
    "--cert": ("/dev/null",),
    "--key": ("/dev/null",),
    "-k": None,
    "--proxy": ("", "http://127.0.0.1:9", "socks5://x", "x"),
    "--connect-timeout": SAFE_TIME,
    "--idle-timeout": SAFE_TIME,
    "--keepalive": SAFE_TIME,
    "--max-message-size": ("1", "0", "100", "16777216"),
    "--connect-retries": ("0", "1", "-1"),
    "--stateful-reconnect": None,
    "-v": None,
    "-vv": None,
    "-r": None,
    "-J": None,
    "-q": None,
    "-n": ("0", "1", "3", "-1"),
    "--on": ("*", "Notify", ""),
    "--args": ("[]", "[1]", "{}", "@-", "@/dev/null", "1e400"),
    "--strict-json": None,
    "--json": None,
    "-0": None,
    "--stream": None,
    "--call": ("Echo 1", "JoinGroup g", "'' 1", "Nope", "Echo 'x"),
    "--reply": ("X=1", "X=", "=1", "X=1e400"),
    "--reply-exec": ("X=echo 1", "X="),
    "--reply-timeout": SAFE_TIME,
    "--reconnect": None,
    "--reconnect-delays": ("0", "0,1", "forever", "x", "nan"),
    "--bogus": None,
    "-h": None,
}
_CONNECTION: Final = (
    *("-p", "-t", "--skip-negotiation", "-H", "--token", "--token-file", "--token-in-query"),
    *("-b", "--cacert", "--cert", "--key", "-k", "--proxy", "--connect-timeout"),
    *("--idle-timeout", "--keepalive", "--max-message-size", "--connect-retries"),
    *("--stateful-reconnect", "-v", "-vv", "--bogus", "-h"),
)
_HUB_ARGS: Final = ("--args", "--strict-json")
# Each command's own options (and a few it does not have, to be refused).
COMMANDS: Final[dict[str, tuple[str, ...]]] = {
    "invoke": (*_CONNECTION, *_HUB_ARGS, "-r", "-J", "--on", "-n"),
    "send": (*_CONNECTION, *_HUB_ARGS, "-r"),
    "stream": (*_CONNECTION, *_HUB_ARGS, "-r", "-J", "--on", "-n", "-q"),
    "upload": (*_CONNECTION, *_HUB_ARGS, "-r", "-J", "--on", "-n", "-q", "--json", "-0"),
    "listen": (
        *_CONNECTION,
        *("--call", "--strict-json", "-n", "-J", "--reply", "--reply-exec"),
        *("--reply-timeout", "--reconnect", "--reconnect-delays", "--stream"),
    ),
}
METHODS: Final = (
    "Echo",
    "Add",
    "Counter",
    "UploadSum",
    "StreamEcho",
    "Nope",
    "",
    "ThrowHubException",
)
# "\udcff" reaches the process as the byte 0xff: a value that is not UTF-8.
ENVIRONMENT: Final[dict[str, tuple[str, ...]]] = {
    "HUBCLI_TOKEN": ("t", "", " ", "a\tb", "é", "\udcff"),
    "HTTP_PROXY": ("", "http://127.0.0.1:9", "x", "http://[::1", "http://\udcff", "http://a..b"),
    "NO_PROXY": ("*", "127.0.0.1", "", "\udcff"),
    "COLUMNS": ("0", "-5", "x", "1000", "\udcff"),
    "SSL_CERT_FILE": ("/", "/nonexistent", "\udcff"),
}
STDINS: Final = (
    b"",
    b"1\n2\n3\n",
    b'{"a":1}\n\n[1e400]\n',
    b"\xff\xfe\n",
    b"a\x00b\x00",
    b"x" * 70_000,
    b"\r\n\r\n",
)


def _value(draw: st.DrawFn, values: tuple[str, ...]) -> str:
    # Mostly a value the option takes, sometimes an odd one.
    if draw(st.integers(0, 3)):
        return draw(st.sampled_from(values))
    return draw(st.sampled_from(ODD) | st.text(max_size=12))


@st.composite
def command_lines(draw: st.DrawFn, url: str) -> tuple[list[str], dict[str, str], bytes]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    argv = [command, "-m", "2"]
    for option in draw(st.lists(st.sampled_from(COMMANDS[command]), max_size=5)):
        values = OPTIONS[option]
        argv.append(option)
        if values is not None:
            argv.append(_value(draw, values))
    urls = (url, url.replace("http", "ws", 1), "http://127.0.0.1:9/hub", "ftp://x", "http://")
    argv.append(draw(st.sampled_from(urls)) if draw(st.integers(0, 4)) else url)
    if command != "listen" or draw(st.booleans()):
        argv.append(_value(draw, METHODS))
    if draw(st.booleans()):
        argv.append("--")
    argv += draw(st.lists(st.sampled_from(ODD) | st.text(max_size=8), max_size=3))
    unused = [option for option in OPTIONS if not any(option in c for c in COMMANDS.values())]
    assert not unused, unused
    environment = {
        name: _value(draw, values)
        for name, values in draw(
            st.dictionaries(st.sampled_from(sorted(ENVIRONMENT)), st.none(), max_size=2)
        ).items()
        for values in [ENVIRONMENT[name]]
    }
    stdin = draw(st.sampled_from(STDINS) | st.binary(max_size=64))
    # argv and the environment cannot carry NUL; the system refuses it before hubcli.
    argv = [word.replace("\x00", "") for word in argv]
    environment = {name: value.replace("\x00", "") for name, value in environment.items()}
    return argv, environment, stdin


def _check(argv: list[str], environment: dict[str, str], stdin: bytes) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ENVIRONMENT and not name.lower().endswith("_proxy")
    }
    done = subprocess.run(
        [*HUBCLI, *argv],
        input=stdin,
        capture_output=True,
        env={**env, **environment},
        timeout=60,
        check=False,
    )
    errors = done.stderr.decode("utf-8", "replace")
    shown = f"hubcli {argv!r} env={environment!r} stdin={stdin[:40]!r}\n{errors}"
    assert done.returncode != 1, shown
    assert "Traceback (most recent call last)" not in errors, shown
    error_lines = [line for line in errors.splitlines() if line.startswith("hubcli: error:")]
    if done.returncode == 0:
        assert error_lines == [], shown
    elif argv:  # a bare `hubcli` shows its help on stderr instead (jq and grpcurl do)
        assert len(error_lines) == 1, shown


def test_any_command_line_ends_in_a_documented_way(shared_hub_server: str) -> None:
    url = shared_hub_server

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not DEEP,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    # What earlier sweeps found, kept as examples: a blank token (exit 1 before).
    @example((["invoke", "-m", "2", url, "Echo", "1"], {"HUBCLI_TOKEN": " "}, b""))
    @example((["send", "-m", "2", "--token", " \t", url, "Echo"], {}, b""))
    @given(command_lines(shared_hub_server))
    def sweep(line: tuple[list[str], dict[str, str], bytes]) -> None:
        _check(*line)

    sweep()


ROOT_WORDS: Final = ("--help", "-h", "--version", "--bogus", "invoke", "stream", "-x", "--", "")


@st.composite
def root_lines(draw: st.DrawFn) -> tuple[list[str], dict[str, str], bytes]:
    """No command, help and --version anywhere, and serve --list-methods with the
    flags serve has (none that takes a value: it could swallow --list-methods
    and start a hub)."""
    if draw(st.booleans()):
        words = draw(st.lists(st.sampled_from(ROOT_WORDS) | st.sampled_from(ODD), max_size=4))
    else:
        flags = ("--chaos", "-v", "--detailed-errors", "--help", "--bogus", "--break-websockets")
        words = ["serve", "--list-methods", *draw(st.lists(st.sampled_from(flags), max_size=2))]
    columns = draw(st.sampled_from(ENVIRONMENT["COLUMNS"]))
    return words, {"COLUMNS": columns}, b""


@settings(
    max_examples=max(1, EXAMPLES // 3),
    deadline=None,
    derandomize=not DEEP,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(root_lines())
def test_help_version_and_list_methods_end_in_a_documented_way(
    line: tuple[list[str], dict[str, str], bytes],
) -> None:
    _check(*line)
