"""Examples and exit statuses of each command, as data.

One table feeds `--help` (as epilogs), the man page's EXAMPLES and EXIT STATUS,
and the README, so none of them can say something the others do not. Imported at
start-up by every command module: it holds strings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from typer.core import TyperCommand, TyperGroup

from .exit_codes import EXIT_CODE_MEANINGS, ExitCode

HUB_URL: Final = "http://127.0.0.1:5000/hub"


@dataclass(frozen=True, slots=True)
class Example:
    """A command line as a user types it (in a POSIX shell), and what it shows."""

    comment: str
    command: str


_U = HUB_URL

EXAMPLES: Final[dict[str, tuple[Example, ...]]] = {
    "invoke": (
        Example("The result as one JSON line", f"hubcli invoke {_U} Echo '{{\"a\":1}}'"),
        Example("Each ARG is a JSON literal: prints 42", f"hubcli invoke {_U} Add 2 40"),
        Example("ARGs that begin with - go after --", f"hubcli invoke {_U} Add -- -1 2"),
        Example("A string result without quotes", f"hubcli invoke -r {_U} HelloWorld"),
    ),
    "send": (
        Example(
            "Fire and forget: exit 0 once the message is written",
            f"hubcli send {_U} Broadcast '\"hello\"'",
        ),
    ),
    "stream": (
        Example(
            "Each item as one JSON line as it arrives, into jq",
            f"hubcli stream {_U} Counter 10 500 | jq .",
        ),
        Example(
            "The first 3 items of an endless stream, then cancel it",
            f"hubcli stream -n 3 {_U} Forever 100",
        ),
        Example(
            "Give up after 5 seconds (exit 124)",
            f"hubcli stream --max-time 5 {_U} Forever 100",
        ),
        Example(
            "MessagePack on the wire, the same JSON lines on stdout",
            f"hubcli stream -p messagepack {_U} Counter 3 0",
        ),
    ),
    "upload": (
        Example(
            "Each stdin line is one item of the client-to-server stream",
            f"cat data | hubcli upload {_U} UploadStream",
        ),
        Example(
            "Lines parsed as JSON; the method's result printed",
            f"seq 10 | hubcli upload --json {_U} UploadSum",
        ),
        Example(
            "The method streams back: print its items",
            f"seq 3 | hubcli upload --stream {_U} StreamEcho",
        ),
    ),
    "listen": (
        Example(
            "Every invocation the hub sends this client, one JSON line each",
            f"hubcli listen {_U}",
        ),
        Example(
            "Join a group first, then print what the hub sends",
            f"hubcli listen --call 'JoinGroup room1' {_U}",
        ),
        Example(
            "Wait up to 10 s for the first Notify, then exit 0 (124 if none came)",
            f"hubcli listen -n 1 --max-time 10 {_U} Notify",
        ),
        Example(
            "Answer the hub's GetName requests with a fixed value",
            f"hubcli listen {_U} --reply GetName='\"bot\"'",
        ),
        Example(
            "Answer each Ok request with what ./ok.sh prints (stdin: the args)",
            f"hubcli listen {_U} --reply-exec Ok=./ok.sh",
        ),
    ),
    "session": (
        Example(
            "Requests from a file, one JSON object a line; records on stdout",
            f"cat calls.jsonl | hubcli session {_U}",
        ),
        Example(
            "Pushes of every client method too, as listen prints them",
            f"cat calls.jsonl | hubcli session --on '*' {_U}",
        ),
    ),
    "bench": (
        Example(
            "10 connections echo for 10 s; ghz's summary at a terminal",
            f"hubcli bench {_U} -c 10 -d 10",
        ),
        Example(
            "500 calls a second in all, latency from each call's scheduled time",
            f"hubcli bench {_U} -c 50 -d 30 --rate 500",
        ),
        Example("Keep the report, one JSON object", f"hubcli bench {_U} --json | tee run.json"),
        Example(
            "A CI gate: exit 8 if p99 is over 50 ms (repeatable: 'errors>0')",
            f"hubcli bench {_U} --fail-if 'p99>50ms'",
        ),
        Example(
            "The change against the earlier run, on stderr",
            f"hubcli bench {_U} --compare run.json",
        ),
    ),
    "serve": (
        Example("The built-in hub on http://127.0.0.1:5000/hub", "hubcli serve"),
        Example("A free port; the URL is the first stdout line", "hubcli serve --port 0"),
        Example("What the built-in hub's methods do", "hubcli serve --list-methods"),
    ),
    "demo": (Example("Examples of every command against the built-in hub", "hubcli demo"),),
}

CLIENT_COMMANDS: Final = ("invoke", "send", "stream", "upload", "listen", "session")


def _client_codes(
    meanings: dict[ExitCode, str], cannot: tuple[ExitCode, ...] = ()
) -> dict[ExitCode, str]:
    """The general table with a command's own wording, less what it cannot return
    (and less bench's --fail-if status unless given a wording)."""
    return {
        code: meanings.get(code, meaning)
        for code, meaning in EXIT_CODE_MEANINGS.items()
        if code not in cannot and (code is not ExitCode.CONDITION_FAILED or code in meanings)
    }


_READER_GONE: Final = "stdout closed by the reader (| head)"
_CTRL_C: Final = "interrupted by Ctrl-C"

# Each command lists the statuses it can end with, in its own words.
EXIT_CODES: Final[dict[str, dict[ExitCode, str]]] = {
    "invoke": _client_codes({ExitCode.OK: f"success, or {_READER_GONE}"}),
    "send": _client_codes(
        {
            ExitCode.OK: "the message was handed to the transport",
            ExitCode.USAGE: "usage error: bad flags/input, impossible combination",
            ExitCode.INTERRUPTED: _CTRL_C,
        },
        # No result comes back, so no error of the hub's either; nothing is printed.
        cannot=(ExitCode.HUB_ERROR,),
    ),
    "stream": _client_codes({ExitCode.OK: f"success; also -n N reached, or {_READER_GONE}"}),
    "upload": _client_codes(
        {ExitCode.OK: "success; also -n N reached (--stream), or stdout closed (| head)"}
    ),
    "listen": _client_codes(
        {
            ExitCode.OK: f"-n N events printed, or {_READER_GONE}",
            ExitCode.HUB_ERROR: "a --call's method reported an error",
            ExitCode.CONNECTION_CLOSED: "the server closed the connection (or --reconnect gave up)",
            ExitCode.INTERRUPTED: _CTRL_C,
        }
    ),
    "session": _client_codes(
        {
            ExitCode.OK: f"stdin ended and the calls in flight are over, or {_READER_GONE}; "
            "at a terminal, Ctrl-D, /quit or /close",
            ExitCode.USAGE: "usage error: bad flags, an unreadable --methods FILE; at a "
            "terminal, the shell's prompt_toolkit not installed (pip install 'hubcli[shell]')",
            ExitCode.HUB_ERROR: "never for the session: a call's hub error is its record",
            ExitCode.CONNECTION_CLOSED: "the connection was lost (or --reconnect gave up)",
            ExitCode.INTERRUPTED: f"{_CTRL_C} (at the shell's prompt Ctrl-C cancels the "
            "latest call instead)",
        },
        cannot=(ExitCode.HUB_ERROR,),
    ),
    "bench": _client_codes(
        {
            ExitCode.OK: "the run ended and the report was printed (errors are in it)",
            ExitCode.CONNECT_FAILED: "not one connection could be made (DNS, TCP, TLS, ...)",
            ExitCode.CONDITION_FAILED: "a --fail-if condition held (the report is printed)",
            ExitCode.INTERRUPTED: _CTRL_C,
        },
        cannot=(ExitCode.HUB_ERROR,),
    ),
    "serve": {
        ExitCode.OK: "stopped by SIGINT or SIGTERM (every connection got Close first)",
        ExitCode.INTERNAL_ERROR: EXIT_CODE_MEANINGS[ExitCode.INTERNAL_ERROR],
        ExitCode.USAGE: "usage error: bad flags or files, or stdout cannot take the URL",
        ExitCode.CONNECT_FAILED: "cannot listen on --host/--port (in use, no permission)",
    },
    "demo": {
        ExitCode.OK: "every example ended as expected, or stdout closed by the reader",
        ExitCode.INTERNAL_ERROR: "an example did not end as expected",
        ExitCode.USAGE: "stdout cannot take the output (a full disk)",
        ExitCode.CONNECT_FAILED: "the built-in hub could not start",
        ExitCode.INTERRUPTED: _CTRL_C,
        ExitCode.TERMINATED: "terminated by SIGTERM",
    },
}

# Every environment variable hubcli reads (an option's envvar must be among them:
# tests/shell checks), for the man page's ENVIRONMENT and the README.
ENVIRONMENT: Final[tuple[tuple[str, str], ...]] = (
    (
        "HUBCLI_TOKEN",
        "Bearer token when neither --token nor --token-file is given; an explicit "
        "-H 'Authorization: ...' wins over all three.",
    ),
    (
        "HTTPS_PROXY, HTTP_PROXY",
        "HTTP proxy for https:// and wss:// hubs (HTTPS_PROXY) or http:// and ws:// "
        "hubs (HTTP_PROXY) when --proxy is not given; lower-case names work too, "
        "and --proxy '' ignores both.",
    ),
    (
        "NO_PROXY",
        "Comma-separated hosts and domain suffixes reached without a proxy, even "
        "one given with --proxy (as in curl).",
    ),
    (
        "SSL_CERT_FILE, SSL_CERT_DIR",
        "CA certificates to trust instead of the system store's (OpenSSL's "
        "variables); --cacert wins.",
    ),
    (
        "NO_COLOR",
        "When set and not empty: no colour in the JSON printed at a terminal (--color "
        "wins). hubcli colours nothing else: help, errors and progress never.",
    ),
    ("TERM", "dumb: no colour, as with NO_COLOR."),
    ("COLUMNS", "Width of the --help text (80 at most)."),
)

# `hubcli --help`: a tour, from starting a hub to each kind of call.
ROOT_EXAMPLES: Final = (
    Example("Start the built-in hub (another terminal, or append &)", "hubcli serve"),
    EXAMPLES["invoke"][0],
    EXAMPLES["stream"][0],
    EXAMPLES["upload"][0],
    Example("Try every command against a built-in hub", "hubcli demo"),
)


def exit_code_lines(codes: dict[ExitCode, str]) -> list[str]:
    return [f"{int(code):>3}  {meaning}" for code, meaning in codes.items()]


def _section(heading: str, lines: list[str]) -> str:
    # \b: click prints the paragraph as it is instead of re-wrapping it; laid
    # out like click's own "Options:" section.
    return "\n".join(["\b", f"{heading}:", *(f"  {line}" for line in lines)])


def example_lines(examples: tuple[Example, ...]) -> list[str]:
    lines: list[str] = []
    for example in examples:
        lines += [f"# {example.comment}", example.command]
    return lines


def epilog(command: str | None = None) -> str:
    """The Examples and Exit status sections that close `--help`."""
    examples = ROOT_EXAMPLES if command is None else EXAMPLES[command]
    codes = EXIT_CODE_MEANINGS if command is None else EXIT_CODES[command]
    return (
        f"{_section('Examples', example_lines(examples))}\n\n"
        f"{_section('Exit status', exit_code_lines(codes))}"
    )


def _write_epilog(epilog: str | None, formatter: Any) -> None:
    # click indents an epilog; hubcli's are sections of their own ("Examples:",
    # "Exit status:"), so they start in the column of "Options:".
    if epilog:
        formatter.write_paragraph()
        formatter.write_text(epilog)


# The overrides below take click's Context and HelpFormatter, which typer vendors
# without exporting them: `Any` keeps them compatible with the methods they
# override, and only their documented methods are called.


class Command(TyperCommand):
    """A subcommand whose epilog reads as sections of its help."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        # typer writes required arguments as {URL}; usage lines say URL everywhere else.
        return [
            piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece
            for piece in super().collect_usage_pieces(ctx)
        ]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        # typer shows rich_help_panel only in its rich layout, which hubcli does not
        # use (no colour, no boxes, and rich costs start-up time): the same
        # sections, in click's plain layout, in the order the panels first appear.
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                heading = "Arguments"
            else:
                heading = getattr(param, "rich_help_panel", None) or "Options"
            sections.setdefault(heading, []).append(record)
        for heading, records in sections.items():
            with formatter.section(heading):
                formatter.write_dl(records)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_epilog(self.epilog, formatter)


class Group(TyperGroup):
    """The root command, with the same epilog layout as `Command`."""

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_epilog(self.epilog, formatter)
