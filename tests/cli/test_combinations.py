"""An option that would do nothing beside the others given is a usage error."""

from __future__ import annotations

import pytest

from hubcli.cli.combinations import ALONE, IDLE

from .hubcli_process import run

URL = "http://127.0.0.1:9/hub"  # never reached: the check comes before connecting

# For each entry of the table, a command line where the option is idle.
IDLE_LINES: dict[tuple[str, str], list[str]] = {
    ("invoke", "token_in_query"): ["invoke", "--token-in-query", URL, "Echo"],
    ("invoke", "raw"): ["invoke", "-r", "-J", URL, "Echo"],
    ("invoke", "strict_json"): ["invoke", "--strict-json", "--args", "[1]", URL, "Echo"],
    ("send", "token_in_query"): ["send", "--token-in-query", URL, "Echo"],
    ("send", "strict_json"): ["send", "--strict-json", "--args", "[1]", URL, "Echo"],
    ("stream", "token_in_query"): ["stream", "--token-in-query", URL, "Counter"],
    ("stream", "raw"): ["stream", "-J", "--raw", URL, "Counter"],
    ("stream", "strict_json"): ["stream", "--args", "[]", "--strict-json", URL, "Counter"],
    ("upload", "token_in_query"): ["upload", "--token-in-query", URL, "UploadSum"],
    ("upload", "raw"): ["upload", "-rJ", URL, "UploadSum"],
    ("upload", "strict_json"): ["upload", "--strict-json", "--args", "[]", URL, "UploadSum"],
    ("upload", "count"): ["upload", "-n", "3", URL, "UploadSum"],
    ("listen", "token_in_query"): ["listen", "--token-in-query", URL],
    ("listen", "strict_json"): ["listen", "--strict-json", URL],
    ("listen", "reply_timeout"): ["listen", "--reply-timeout", "3", URL],
    ("bench", "token_in_query"): ["bench", "--token-in-query", URL],
    ("bench", "interval"): ["bench", "--interval", "5", URL],
    ("serve", "stateful_reconnect_buffer_size"): ["serve", "--stateful-reconnect-buffer-size", "9"],
    ("serve", "long_poll_timeout"): ["serve", "--transports", "sse", "--long-poll-timeout", "3"],
    ("serve", "break_websockets"): ["serve", "--break-websockets", "--transports", "sse"],
}


def test_every_entry_of_the_table_is_tried() -> None:
    entries = {(command, idle.option) for command, rules in IDLE.items() for idle in rules}
    assert entries == set(IDLE_LINES)


@pytest.mark.parametrize("argv", IDLE_LINES.values(), ids=lambda argv: " ".join(argv[:3]))
def test_an_idle_option_is_a_usage_error(argv: list[str]) -> None:
    result = run(*argv)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("hubcli: error: "), line
    assert " does nothing " in line, line


def test_an_environment_token_makes_token_in_query_work(shared_hub_server: str) -> None:
    result = run(
        "invoke", "--token-in-query", shared_hub_server, "Echo", "1", env={"HUBCLI_TOKEN": "t"}
    )
    assert (result.returncode, result.stdout) == (0, "1\n"), result.stderr


def test_count_with_stream_counts(shared_hub_server: str) -> None:
    result = run("upload", "-n", "1", "--stream", shared_hub_server, "StreamEcho", stdin="a\nb\n")
    assert (result.returncode, result.stdout) == (0, '"a"\n'), result.stderr


@pytest.mark.parametrize("other", [["--port", "0"], ["-v"], ["--chaos"]])
def test_list_methods_takes_no_other_option(other: list[str]) -> None:
    command, (_, flag) = next(iter(ALONE.items()))
    result = run(command, flag, *other)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.endswith(f"does nothing with {flag}\n")
