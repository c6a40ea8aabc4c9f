"""The command-line surface: argument and stdin rules, output formats, flags, errors."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

import hubcli
from tests.cli.hubcli_process import HUBCLI, run, run_all, start
from tests.serverproc import HubServer


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (["10"], "10"),
        (['"10"'], '"10"'),
        (["hello"], '"hello"'),
        (["true"], "true"),
        (['{"a": 1}'], '{"a":1}'),
        (["--", "-1"], "-1"),
    ],
)
def test_each_arg_is_a_json_literal(shared_hub_server: str, args: list[str], printed: str) -> None:
    result = run("invoke", shared_hub_server, "Echo", *args)
    assert (result.returncode, result.stdout) == (0, printed + "\n"), result.stderr


def test_strict_json_refuses_text(shared_hub_server: str) -> None:
    result = run("invoke", "--strict-json", shared_hub_server, "Echo", "hello")
    assert result.returncode == 2
    assert result.stderr.startswith("hubcli: error: argument 1 is not valid JSON: 'hello'")
    assert len(result.stderr.splitlines()) == 1


# Valid JSON, but no value holds the number: it must not go as the string "1e400".
@pytest.mark.parametrize(
    ("argv", "stdin", "where"),
    [
        (["invoke", "{url}", "Echo", "1e400"], None, "argument 1"),
        (["invoke", "--strict-json", "{url}", "Echo", "--", "-1e400"], None, "argument 1"),
        (["invoke", "{url}", "Echo", "2", '{"a": [1E999]}'], None, "argument 2"),
        (["send", "{url}", "Echo", "1" + "0" * 5000], None, "argument 1"),
        (["invoke", "--args", "[1e400]", "{url}", "Echo"], None, "--args"),
        (["invoke", "--args", "@{file}", "{url}", "Echo"], None, "--args"),
        (["invoke", "--args", "@-", "{url}", "Echo"], "[-1e400]", "--args"),
        (["upload", "--json", "{url}", "UploadSum"], "1\n1e400\n", "stdin line 2"),
        (["listen", "--call", "Echo 1e400", "{url}"], None, "argument 1"),
        (["listen", "--reply", "X=1e400", "{url}"], None, "argument 1"),
    ],
)
def test_numbers_out_of_range_are_usage_errors(
    shared_hub_server: str, tmp_path: Path, argv: list[str], stdin: str | None, where: str
) -> None:
    file = tmp_path / "args.json"
    file.write_text("[1, 1e400]")
    line = [word.replace("{url}", shared_hub_server).replace("{file}", str(file)) for word in argv]
    result = run(*line, stdin=stdin)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [error] = result.stderr.splitlines()
    assert error.startswith(f"hubcli: error: {where} holds a number out of range: "), error


def test_args_option_file_and_stdin(shared_hub_server: str, tmp_path: Path) -> None:
    assert run("invoke", shared_hub_server, "Add", "--args", "[2, 3]").stdout == "5\n"
    args_file = tmp_path / "args.json"
    args_file.write_text("[4, 5]")
    assert run("invoke", shared_hub_server, "Add", "--args", f"@{args_file}").stdout == "9\n"
    assert run("invoke", shared_hub_server, "Add", "--args", "@-", stdin="[1, 1]").stdout == "2\n"
    both = run("invoke", shared_hub_server, "Add", "1", "--args", "[1]")
    assert both.returncode == 2
    not_array = run("invoke", shared_hub_server, "Add", "--args", '{"x": 1}')
    assert (not_array.returncode, not_array.stderr.count("\n")) == (2, 1)


def test_verbose_shows_the_encoded_arguments(shared_hub_server: str) -> None:
    result = run("invoke", "-v", shared_hub_server, "Echo", "hello")
    assert 'hubcli: invoke Echo ["hello"]' in result.stderr.splitlines()


def test_raw_and_envelope_output(shared_hub_server: str) -> None:
    assert run("invoke", "-r", shared_hub_server, "Echo", "a b").stdout == "a b\n"
    assert run("invoke", "-r", shared_hub_server, "Echo", "[1]").stdout == "[1]\n"
    enveloped = run("stream", "-J", shared_hub_server, "Counter", "2", "0").stdout
    assert [json.loads(line) for line in enveloped.splitlines()] == [
        {"type": "item", "item": 0},
        {"type": "item", "item": 1},
        {"type": "completion"},
    ]
    failed = run("invoke", "-J", shared_hub_server, "ThrowException", "x")
    assert failed.returncode == 3
    assert json.loads(failed.stdout)["type"] == "completion"
    assert "error" in json.loads(failed.stdout)


def test_void_prints_nothing_and_null_prints_null(shared_hub_server: str) -> None:
    assert run("invoke", shared_hub_server, "Void").stdout == ""
    assert run("invoke", shared_hub_server, "Null").stdout == "null\n"


def test_count_takes_n_items_then_cancels(hub_server: str) -> None:
    process = start("stream", "-n", "5", hub_server, "Forever", "1")
    assert process.stdout is not None
    first = [process.stdout.readline() for _ in range(5)]
    taken = time.monotonic()
    rest, stderr = process.communicate(timeout=30)
    # The clean-up (CancelInvocation, the hub's answer, Close) adds no waiting.
    assert time.monotonic() - taken < 1.5
    assert (process.returncode, b"".join(first).split(), rest) == (
        0,
        [b"0", b"1", b"2", b"3", b"4"],
        b"",
    ), stderr
    assert run("invoke", hub_server, "WaitForCancelledStreams", "1", "10000").returncode == 0


def test_messagepack_values_print_as_json(shared_hub_server: str) -> None:
    result = run("invoke", "-p", "messagepack", shared_hub_server, "SendComplexObject")
    value = json.loads(result.stdout)
    assert value["ByteArray"] == "AQID"
    assert value["DateTime"] == "2000-01-01T00:00:00Z"


class _Seen(logging.Handler):
    """Sets `event` once a log record containing `text` is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.event = trio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


async def test_send_exits_once_written(shared_hub_server: str) -> None:
    # The hub broadcasts what `send` carried to every client: one listening here
    # (its -vv frame log) proves the call arrived, not just that send exited 0.
    word = secrets.token_hex(8)
    seen = _Seen(f'"target":"Broadcast","arguments":["{word}"]')
    hub_logger = logging.getLogger("hubcli")
    level = hub_logger.level
    hub_logger.addHandler(seen)
    hub_logger.setLevel(logging.DEBUG)
    try:
        async with hubcli.connect(shared_hub_server) as listener:
            await listener.invoke("Echo", 1)  # answered only once it is registered
            result = await trio.run_process(
                [*HUBCLI, "send", shared_hub_server, "Broadcast", word],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
            with trio.fail_after(10):
                await seen.event.wait()
    finally:
        hub_logger.removeHandler(seen)
        hub_logger.setLevel(level)


def test_upload_text_rules(shared_hub_server: str) -> None:
    # A trailing \r is dropped, a blank line is an empty string, no final newline needed.
    result = run("upload", "--stream", shared_hub_server, "StreamEcho", stdin="a\r\n\nb")
    assert result.stdout == '"a"\n""\n"b"\n'
    nul = run("upload", "-0", "-r", "--stream", shared_hub_server, "StreamEcho", stdin="x\ny\0z")
    assert nul.stdout == "x\ny\nz\n"


def test_upload_stdin_placeholder_and_json(shared_hub_server: str) -> None:
    result = run("upload", "--json", shared_hub_server, "UploadSum", "@stdin", stdin="1\n2.5\n")
    assert result.stdout == "3.5\n"
    twice = run("upload", shared_hub_server, "UploadSum", "@stdin", "@stdin", stdin="1\n")
    assert twice.returncode == 2


def test_usage_errors_are_one_line(shared_hub_server: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(b"to\x01ken\n")
    url = shared_hub_server
    cases = [
        (["invoke", url, "Echo", "--no-such-flag"], "no such option"),
        (["invoke", "-p", "xml", url, "Echo"], "'xml' is not one of"),
        (["invoke", "-H", "no colon", url, "Echo"], "invalid header 'no colon'"),
        (["invoke", "ftp://example/hub", "Echo"], "invalid hub URL"),
        (["invoke", url], "missing argument 'METHOD'"),
        # Each of these once ended as an internal error (exit 1), or connected.
        (["invoke", "http://[::1/hub", "Echo"], "invalid IPv6 URL"),
        (["invoke", "http://127.0.0.1:99999/hub", "Echo"], "port out of range"),
        (["invoke", "http://:80/hub", "Echo"], "no host"),
        (["invoke", "http://a..b/hub", "Echo"], "an empty label or one over 63"),
        (["invoke", f"ws://{'x' * 64}.example/hub", "Echo"], "an empty label or one over 63"),
        (["invoke", "--proxy", "http://127.0.0.1:99999", url, "Echo"], "port out of range"),
        (["invoke", "-H", "X: 日本", url, "Echo"], "non-ASCII characters"),
        (["invoke", "-H", "X: a\r\nY: b", url, "Echo"], "control character"),
        (["invoke", "-H", "X: a\nb", url, "Echo"], "control character"),
        (["invoke", "--token", "a\nb", url, "Echo"], "--token cannot be sent"),
        (["invoke", "--token-file", str(token_file), url, "Echo"], "control character"),
        (["invoke", "-b", "a=日本", url, "Echo"], "invalid cookie 'a'"),
        (["invoke", "--connect-timeout", "nan", url, "Echo"], "nan is not a finite number"),
        (["invoke", "--idle-timeout", "nan", url, "Echo"], "nan is not a finite number"),
        (["invoke", "--max-time", "nan", url, "Echo"], "nan is not a finite number"),
        (["stream", "-m", "inf", url, "Counter"], "inf is not a finite number"),
        (["invoke", "--keepalive", "nan", url, "Echo"], "nan is not a finite number"),
    ]
    for (args, reason), result in zip(cases, run_all([args for args, _ in cases]), strict=True):
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("hubcli: error: "), args
        assert reason in result.stderr, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1, result.stderr
    env = {"HUBCLI_TOKEN": "日本"}
    from_env = run("invoke", url, "Echo", env=env)
    assert (from_env.returncode, from_env.stderr) == (
        2,
        "hubcli: error: HUBCLI_TOKEN cannot be sent: it has non-ASCII characters "
        "(HTTP headers carry ASCII only; percent-encode it)\n",
    )


def test_token_from_flag_or_environment(start_hub_server: Callable[..., HubServer]) -> None:
    server = start_hub_server("--require-token", "s3cret")
    refused = run("invoke", server.url, "Echo", "1")
    assert refused.returncode == 5
    assert run("invoke", "--token", "s3cret", server.url, "Echo", "1").stdout == "1\n"
    from_env = run("invoke", "-vv", server.url, "Echo", "1", env={"HUBCLI_TOKEN": "s3cret"})
    assert from_env.stdout == "1\n"
    assert "s3cret" not in from_env.stderr


def test_headers_reach_the_server(shared_hub_server: str) -> None:
    result = run("invoke", "-H", "X-Trace: abc", shared_hub_server, "GetConnectionInfo")
    assert json.loads(result.stdout)["headers"]["x-trace"] == "abc"


def test_skip_negotiation(shared_hub_server: str) -> None:
    result = run("invoke", "--skip-negotiation", shared_hub_server, "GetConnectionInfo")
    assert json.loads(result.stdout)["transport"] == "WebSockets"


def test_oversized_message_names_the_flag(shared_hub_server: str) -> None:
    result = run("invoke", "--max-message-size", "100", shared_hub_server, "BigResult", "5000")
    assert result.returncode == 6
    assert "--max-message-size" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_websocket_message_beyond_the_frame_limit_names_the_flag(shared_hub_server: str) -> None:
    # The WebSocket layer's own limit (16 MiB, or --max-message-size if larger)
    # stops this before the hub protocol's check; the hint is the same.
    result = run("invoke", shared_hub_server, "BigResult", str(17 * 1024 * 1024))
    assert (result.returncode, result.stdout) == (6, "")
    assert result.stderr == (
        "hubcli: error: a message from the server is larger than the limit of "
        "16777216 bytes (raise --max-message-size)\n"
    )


def test_an_item_too_large_for_the_server_is_its_refusal_not_ours(shared_hub_server: str) -> None:
    # The hub closes the WebSocket with 1009 on a 20 MiB message from us: the
    # server closed the connection (exit 7), nothing came in too large (exit 6).
    # (--max-message-size: hubcli's own limit on a stdin line would stop it first.)
    line = b"x" * (20 * 1024 * 1024)
    flags = ("--max-message-size", str(32 * 1024 * 1024))
    result = run("upload", *flags, shared_hub_server, "UploadSummary", stdin=line + b"\n")
    assert result.returncode == 7, result.stderr
    refused = re.fullmatch(
        r"hubcli: error: The server refused a message of (\d+) bytes as too large "
        r"\(WebSocket close code 1009\)\.\n",
        result.stderr,
    )
    assert refused is not None, result.stderr
    assert len(line) < int(refused[1]) < len(line) + 100  # the item and its envelope


def test_no_websockets_offered_exits_4(start_hub_server: Callable[..., HubServer]) -> None:
    server = start_hub_server("--transports", "sse,longpolling")
    result = run("invoke", "-t", "websockets", server.url, "Echo", "1")
    assert result.returncode == 4
    assert "None of the transports supported by the client" in result.stderr


def test_version() -> None:
    result = run("--version")
    assert result.stdout.startswith("hubcli ")


def test_not_a_signalr_endpoint_exits_4(shared_hub_server: str) -> None:
    result = run("invoke", shared_hub_server.rsplit("/", 1)[0] + "/nothing-here", "Echo", "1")
    assert result.returncode == 4
    assert result.stderr.startswith(
        "hubcli: error: Failed to complete negotiation with the server: 404"
    )
    assert "Either this is not a SignalR endpoint" in result.stderr


def test_redirect_negotiate_is_followed(shared_hub_server: str) -> None:
    result = run("invoke", "-v", f"{shared_hub_server}/redirect/3", "Echo", "1")
    assert result.stdout == "1\n", result.stderr
    assert result.stderr.count("negotiate: redirected to") == 3


def test_verbose_output_redacts_secrets() -> None:
    from hubcli.cli.runner import redact

    assert redact("GET /hub?id=abc123&access_token=xyz") == "GET /hub?id=***&access_token=***"
    assert redact("Authorization: Bearer eyJ.abc") == "Authorization: Bearer ***"
    assert redact('{"accessToken":"t0k","url":"x"}') == '{"accessToken":"***","url":"x"}'


def test_the_command_line_is_utf8_whatever_the_locale(shared_hub_server: str) -> None:
    # Under LC_ALL=C without UTF-8 mode Python decodes argv as ASCII: an 'é' went
    # to the hub as two lone surrogates.
    ascii_locale = {"LC_ALL": "C", "PYTHONUTF8": "0"}
    result = run("invoke", shared_hub_server, "Echo", '"é"', env=ascii_locale)
    assert (result.returncode, result.stdout) == (0, '"é"\n'), result.stderr


@pytest.mark.parametrize("locale", [{}, {"LC_ALL": "C", "PYTHONUTF8": "0"}])
def test_a_word_that_is_not_utf8_is_a_usage_error(
    shared_hub_server: str, locale: dict[str, str]
) -> None:
    import os
    import subprocess

    done = subprocess.run(
        [*HUBCLI, "invoke", shared_hub_server, "Echo", b"\xff"],
        capture_output=True,
        env={**os.environ, **locale},
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"hubcli: error: word 4 of the command line is not UTF-8 text\n"


@pytest.mark.parametrize(
    ("flags", "env", "said"),
    [
        (["--proxy", "http://a..b:8080"], {}, "--proxy: invalid proxy 'http://a..b:8080'"),
        (["--proxy", "http://" + "x" * 64], {}, "--proxy: invalid proxy"),
        ([], {"HTTP_PROXY": "http://a..b"}, "HTTP_PROXY: invalid proxy 'http://a..b'"),
    ],
)
def test_a_proxy_host_no_resolver_can_look_up_is_a_usage_error(
    flags: list[str], env: dict[str, str], said: str
) -> None:
    # It failed when connecting, as an internal error (idna codec).
    result = run("invoke", *flags, "http://127.0.0.1:9/hub", "Echo", env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"hubcli: error: {said}"), result.stderr
    assert len(result.stderr.splitlines()) == 1
