"""`hubcli listen` as a real process against `hubcli serve`: what it prints, how it
answers client-result requests, and every way it ends."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.hubcli_process import HUBCLI, TIMEOUT, run
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]

COMBINATIONS = [
    ("websockets", "json"),
    ("websockets", "messagepack"),
    ("sse", "json"),
    ("longpolling", "json"),
    ("longpolling", "messagepack"),
]


class Listener:
    """A `hubcli listen -v ...` process, started and waited for until connected."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*HUBCLI, "listen", "-v", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self._stderr = b""

    def wait_for_stderr(self, text: str, timeout: float = 20.0, after: str | None = None) -> None:
        """Read stderr until `text` shows up (the process says what it is doing),
        after the first `after` if given."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        fd = self.process.stderr.fileno()

        def seen() -> bool:
            start = 0 if after is None else self._stderr.find(after.encode())
            return start >= 0 and text.encode() in self._stderr[start:]

        while not seen():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise AssertionError(f"no {text!r} on stderr:\n{self._stderr.decode()}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"stderr ended before {text!r}:\n{self._stderr.decode()}")
            self._stderr += chunk

    def connected(self) -> Listener:
        self.wait_for_stderr("hubcli: connected:")
        return self

    def finish(self) -> tuple[int, list[str], str]:
        """(exit status, stdout lines, the stderr lines that are not -v chatter)."""
        out, err = self.process.communicate(timeout=TIMEOUT)
        stderr = (self._stderr + err).decode()
        errors = "\n".join(line for line in stderr.splitlines() if "error" in line)
        return self.process.returncode, out.decode().splitlines(), errors


def send(url: str, *args: str) -> None:
    result = run("send", url, *args)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
def test_prints_each_push_as_one_json_line(
    shared_hub_server: str, transport: str, protocol: str
) -> None:
    url = shared_hub_server
    listener = Listener("-n", "3", "-t", transport, "-p", protocol, url, "Broadcast").connected()
    send(url, "Broadcast", '{"text": "one", "n": 1}')
    send(url, "InvokeWithString", "not printed: another target, the sender's own")
    send(url, "Broadcast", "two")
    send(url, "Broadcast", "[3, null]")
    status, lines, errors = listener.finish()
    assert (status, errors) == (0, "")
    assert [json.loads(line) for line in lines] == [
        {"target": "Broadcast", "arguments": [{"text": "one", "n": 1}]},
        {"target": "Broadcast", "arguments": ["two"]},
        {"target": "Broadcast", "arguments": [[3, None]]},
    ]
    assert lines[0] == '{"target":"Broadcast","arguments":[{"text":"one","n":1}]}'


def test_targets_match_case_insensitively_and_envelope_records(shared_hub_server: str) -> None:
    url = shared_hub_server
    listener = Listener("-J", "-n", "1", url, "BROADCAST").connected()
    send(url, "Broadcast", "x")
    status, lines, _ = listener.finish()
    assert status == 0
    assert lines == ['{"type":"event","target":"Broadcast","arguments":["x"]}']


def test_calls_run_first_and_what_they_cause_is_printed(shared_hub_server: str) -> None:
    # The hub answers InvokeWithString by calling the caller's Message: sent during
    # the --call, printed once it succeeded.
    result = run(
        "listen", "-n", "2", shared_hub_server, "Message",
        "--call", "InvokeWithString first",
        "--call", "InvokeWithString 'the second one'",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        '{"target":"Message","arguments":["first"]}',
        '{"target":"Message","arguments":["the second one"]}',
    ]


def test_a_failing_call_exits_3_before_any_event(shared_hub_server: str) -> None:
    result = run(
        "listen", shared_hub_server,
        "--call", "InvokeWithString printed-never",
        "--call", "ThrowHubException 'no entry'",
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr == (
        "hubcli: error: --call \"ThrowHubException 'no entry'\" failed: An unexpected error "
        "occurred invoking 'ThrowHubException' on the server. HubException: no entry\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--call", ""], "--call '' needs a METHOD"),
        (["--call", "Echo 'unbalanced"], '--call "Echo \'unbalanced": No closing quotation'),
        (["--reply", "=1"], "--reply '=1': expected TARGET=..."),
        (["--reply-exec", "X="], "--reply-exec 'X=': the COMMAND is empty"),
        (["--reply", "X=1", "--reply-exec", "x=cat"], "more than one reply for 'x'"),
        (["--strict-json", "--reply", "X=yes"], "argument 1 is not valid JSON: 'yes'"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    result = run("listen", "http://127.0.0.1:9/hub", *argv)
    assert result.returncode == 2
    assert result.stderr.startswith(f"hubcli: error: {message}"), result.stderr


# --------------------------------------------------------------------- endings


def test_max_time_exits_124(shared_hub_server: str) -> None:
    result = run("listen", "--max-time", "1", shared_hub_server)
    assert result.returncode == 124
    assert result.stderr == "hubcli: error: timed out after 1 s (--max-time)\n"


def test_idle_timeout_exits_124(start_hub_server: ServerFactory) -> None:
    quiet_hub = start_hub_server("--keepalive", "60")
    result = run("listen", "--idle-timeout", "1", quiet_hub.url)
    assert result.returncode == 124
    assert "Server timeout elapsed" in result.stderr


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_it(shared_hub_server: str, signum: int, status: int) -> None:
    listener = Listener(shared_hub_server).connected()
    listener.process.send_signal(signum)
    code, lines, errors = listener.finish()
    assert (code, lines, errors) == (status, [], "")


def test_a_closed_stdout_exits_0(shared_hub_server: str) -> None:
    url = shared_hub_server
    listening = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", f"{' '.join(HUBCLI)} listen -v {url} | head -n 1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # head exits after the first line; hubcli sees a closed pipe at the second.
    deadline = time.monotonic() + 20
    while listening.poll() is None and time.monotonic() < deadline:
        send(url, "Broadcast", "again")
        time.sleep(0.05)
    out, err = listening.communicate(timeout=TIMEOUT)
    assert listening.returncode == 0, err
    assert out.decode().splitlines() == ['{"target":"Broadcast","arguments":["again"]}']


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_the_server_going_away_exits_7(start_hub_server: ServerFactory, how: int) -> None:
    # SIGINT: the hub says Close to everyone; SIGKILL: the transport just drops.
    hub = start_hub_server()
    listener = Listener(hub.url).connected()
    hub.process.send_signal(how)
    status, lines, errors = listener.finish()
    assert (status, lines) == (7, [])
    assert errors.startswith("hubcli: error: ")


def test_the_server_closing_the_connection_after_events_exits_7_with_them_printed(
    shared_hub_server: str,
) -> None:
    result = run(
        "listen", shared_hub_server,
        "--call", "InvokeWithString before",
        "--call", "CloseConnection 'going away' false",
    )  # fmt: skip
    assert result.returncode == 7
    assert result.stdout == '{"target":"Message","arguments":["before"]}\n'
    assert "going away" in result.stderr


# -------------------------------------------------------------- client results


def _connection_id(listener: Listener) -> str:
    listener.wait_for_stderr("hubcli: connected:")
    match = re.search(rb"connected: \S+, \S+, connection (\S+)", listener._stderr)
    assert match, listener._stderr
    return match.group(1).decode()


def ask(url: str, connection_id: str, target: str, *args: object) -> tuple[int, str, str]:
    """Another client asks the listener through the hub: (status, stdout, stderr)."""
    # '--': a connection id may start with '-' (they are random base64url), and
    # would then be read as an option (a usage error, exit 2, now and then).
    result = run("invoke", url, "AskClient", "--", connection_id, target, json.dumps(list(args)))
    return result.returncode, result.stdout.strip(), result.stderr.strip()


HUB_ERROR = "hubcli: error: An unexpected error occurred invoking 'AskClient' on the server. "


def test_reply_and_reply_exec_answer_another_clients_questions(
    shared_hub_server: str, tmp_path: Path
) -> None:
    url = shared_hub_server
    seen = tmp_path / "seen"
    script = tmp_path / "answer.sh"
    script.write_text(
        f'cat > {seen}; echo "$#" "${{HUBCLI_ARGS-unset}}" >> {seen}; echo \'{{"ok": 7}}\'\n'
    )
    listener = Listener(
        "-J", "-n", "3", url,
        "--reply", 'Fixed={"answer": 42}',
        "--reply-exec", f"Computed=sh {script}",
    )  # fmt: skip
    connection_id = _connection_id(listener)
    assert ask(url, connection_id, "fixed") == (0, '{"answer":42}', "")
    assert ask(url, connection_id, "Computed", 1, "two; rm -rf /", {"x": None}) == (
        0,
        '{"ok":7}',
        "",
    )
    assert ask(url, connection_id, "Unanswered") == (
        3, "", HUB_ERROR + "HubException: Client didn't provide a result.",
    )  # fmt: skip
    status, lines, errors = listener.finish()
    assert (status, errors) == (0, "")
    records = [json.loads(line) for line in lines]
    assert [(r["target"], r["arguments"]) for r in records] == [
        ("fixed", []),
        ("Computed", [1, "two; rm -rf /", {"x": None}]),
        ("Unanswered", []),
    ]
    assert all(re.fullmatch(r"s\d+", r["invocationId"]) for r in records)
    # The request's arguments reached the command on stdin alone.
    assert seen.read_text() == '[1,"two; rm -rf /",{"x":null}]\n0 unset\n'


@pytest.mark.parametrize(
    ("command", "told"),
    [
        ("echo doing it >&2; echo 'no permission for that' >&2; exit 3", "no permission for that"),
        ("exit 4", "The reply command failed (exit status 4)."),
        ("echo 'not json'", "The reply command's output is not JSON."),
        ("printf ''", "Client didn't provide a result."),
        ("sleep 30", "The reply command did not answer within 0.5 s."),
    ],
)
def test_a_reply_command_that_does_not_answer_is_an_error_for_the_asker(
    shared_hub_server: str, command: str, told: str
) -> None:
    url = shared_hub_server
    listener = Listener(url, "--reply-timeout", "0.5", "--reply-exec", f"Q={command}")
    connection_id = _connection_id(listener)
    assert ask(url, connection_id, "Q", 1) == (3, "", HUB_ERROR + f"HubException: {told}")
    # The listener lives on, and answers the next request too.
    assert ask(url, connection_id, "Q", 2)[0] == 3
    listener.process.send_signal(signal.SIGINT)
    status, lines, _ = listener.finish()
    assert status == 130
    assert lines == ['{"target":"Q","arguments":[1]}', '{"target":"Q","arguments":[2]}']


# ------------------------------------------------------------------ groups


def _official_client_invoke(url: str, *args: str) -> None:
    from tests.conformance.test_official_client import HERE, _install, _tool

    node, npm = _tool("node"), _tool("npm")
    _install(npm)
    done = subprocess.run(
        [node, "invoke.mjs", url, *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
def test_group_messages_from_hubcli_and_the_official_client(
    shared_hub_server: str, transport: str, protocol: str
) -> None:
    url = shared_hub_server
    group = f"room-{transport}-{protocol}"
    listener = Listener(
        "-n", "3", "-t", transport, "-p", protocol, url, "ReceiveMessage",
        "--call", f"JoinGroup {group}",
    )  # fmt: skip
    listener.wait_for_stderr("--call JoinGroup: done")
    send(url, "SendToGroup", "another-room", "not for us")
    send(url, "SendToGroup", group, "from hubcli")
    _official_client_invoke(url, "SendToGroup", json.dumps(group), '"from the official client"')
    status, lines, errors = listener.finish()
    assert (status, errors) == (0, "")
    messages = [json.loads(line)["arguments"][1] for line in lines]
    assert messages[0].endswith(f"has joined the group {group}.")
    assert messages[1:] == ["from hubcli", "from the official client"]


def test_a_burst_is_printed_whole_and_in_order(shared_hub_server: str) -> None:
    count = 200_000
    result = run(
        "listen", "-n", str(count), shared_hub_server, "Tick",
        "--call", f"Notify Tick {count} 0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f'{{"target":"Tick","arguments":[{index}]}}' for index in range(count)
    ]


# ----------------------------------------------------- events beside a call


def test_invoke_stream_and_upload_show_the_events_of_their_call(shared_hub_server: str) -> None:
    url = shared_hub_server
    invoked = run("invoke", url, "InvokeWithString", "progress", "--on", "message")
    assert (invoked.returncode, invoked.stdout) == (
        0,
        '{"target":"Message","arguments":["progress"]}\nnull\n',
    )
    # Without --on the output is as ever.
    assert run("invoke", url, "InvokeWithString", "x").stdout == "null\n"
    enveloped = run("invoke", "-J", url, "Notify", "Tick", "2", "0", "--on", "*")
    assert enveloped.stdout.splitlines()[-1] == '{"type":"completion","result":null}'
    streamed = run("stream", url, "Counter", "2", "0", "--on", "Message")
    assert streamed.stdout == "0\n1\n"
    uploaded = run("upload", "--json", url, "UploadSum", "--on", "Tick", stdin="1\n2\n")
    assert uploaded.stdout == "3\n"
