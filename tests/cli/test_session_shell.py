"""`hubcli session` at a terminal, driven as a person drives it: a real `hubcli
session` in a real terminal (tmux: send-keys in, capture-pane out) against a real
`hubcli serve` on port 0. Each wait polls the screen until the text is there,
with a deadline; each test has its own tmux server (a private socket), killed at
teardown."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hubcli.cli.session_shell import shell_words
from tests.cli.hubcli_process import HUBCLI, TIMEOUT, run
from tests.serverproc import HubServer

WAIT = 20.0  # for one thing to show on the screen
PROMPT = "hub>"  # capture-pane drops the space after it


class Terminal:
    """A tmux server of its own, with one window running a command; the pane stays
    after the command ends, so its exit status can be read."""

    def __init__(self, tmux: str, env: dict[str, str], status: Path) -> None:
        self._tmux = tmux
        self._status = status
        self._socket = f"hubcli-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._env = env
        self._started = False

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            [self._tmux, "-L", self._socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=self._env,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"tmux {args[0]}: {result.stderr.strip()}")
        return result.stdout

    def start(self, command: list[str]) -> None:
        # remain-on-exit is set before the command can end: the session is made
        # with a shell-less placeholder first, then the command respawns into it.
        self._run("new-session", "-d", "-x", "120", "-y", "50", "sleep", "3600")
        self._started = True
        self._run("set-option", "-g", "remain-on-exit", "on")
        # The status from a shell that waits for the command (tmux's own
        # #{pane_dead_status} sometimes never came). Ctrl-C reaches the whole
        # foreground group: the shell traps it so as to live on (the command gets
        # SIGINT's default disposition back, as from any shell).
        record = f'trap : INT; "$@"; echo $? > {shlex.quote(str(self._status))}'
        self._run("respawn-pane", "-k", "--", "sh", "-c", record, "sh", *command)

    def keys(self, *keys: str) -> None:
        """Named keys: Enter, Tab, C-c, C-d, C-r, Up."""
        self._run("send-keys", *keys)

    def type(self, text: str) -> None:
        """`text` as typed, character by character (no key names)."""
        self._run("send-keys", "-l", text)

    def line(self, text: str) -> None:
        self.type(text)
        self.keys("Enter")

    def screen(self, *, escapes: bool = False) -> str:
        """What the terminal shows, with what scrolled off (wrapped lines joined)."""
        flags = ["-e"] if escapes else []
        return self._run("capture-pane", "-p", "-J", *flags, "-S", "-1000")

    def wait_for(
        self, wanted: str | Callable[[str], bool], timeout: float = WAIT, *, escapes: bool = False
    ) -> str:
        """The screen, once it shows `wanted` (text, or a test of the screen)."""
        test = (lambda screen: wanted in screen) if isinstance(wanted, str) else wanted
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(escapes=escapes)
            if test(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"not on the screen: {wanted!r}; it shows:\n{screen}")
            time.sleep(0.05)

    def lines(self) -> list[str]:
        """The screen's lines with text, less tmux's own "Pane is dead" line."""
        return [
            line
            for line in self.screen().splitlines()
            if line.strip() and not line.startswith("Pane is dead")
        ]

    def exit_status(self, timeout: float = WAIT) -> int:
        """The command's exit status, once it has ended."""
        deadline = time.monotonic() + timeout
        while not self._status.exists() or not self._status.read_text().endswith("\n"):
            if time.monotonic() > deadline:
                raise AssertionError(f"still running; the screen:\n{self.screen()}")
            time.sleep(0.05)
        return int(self._status.read_text())

    def command_pid(self) -> int:
        """The process id of the command (the child of the shell in the pane)."""
        shell = self._run("display-message", "-p", "#{pane_pid}").strip()
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def kill(self) -> None:
        if self._started:
            subprocess.run(
                [self._tmux, "-L", self._socket, "kill-server"],
                capture_output=True,
                timeout=TIMEOUT,
                check=False,
            )


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (bound for a moment, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def state_home(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def terminals(
    require_tool: Callable[[str], str], state_home: Path, tmp_path: Path
) -> Iterator[Callable[..., Terminal]]:
    """terminals(*argv, env={...}) -> a Terminal running `hubcli ARGV...`."""
    tmux = require_tool("tmux")
    started: list[Terminal] = []

    def start(
        *argv: str, env: dict[str, str] | None = None, command: list[str] | None = None
    ) -> Terminal:
        environ = {
            key: value
            for key, value in os.environ.items()
            if key not in ("TMUX", "NO_COLOR", "FORCE_COLOR")
        }
        environ |= {"XDG_STATE_HOME": str(state_home), "TERM": "xterm-256color"}
        environ |= env or {}
        terminal = Terminal(tmux, environ, tmp_path / f"status-{len(started)}")
        started.append(terminal)
        terminal.start(command or [*HUBCLI, *argv])
        return terminal

    yield start
    for terminal in started:
        terminal.kill()


def _session(terminals: Callable[..., Terminal], url: str, *flags: str, **kw: object) -> Terminal:
    terminal = terminals("session", *flags, url, **kw)
    terminal.wait_for(PROMPT)
    return terminal


def test_history_persists_across_sessions_in_a_private_file_and_ctrl_r_finds_it(
    terminals: Callable[..., Terminal], hub_server: str, state_home: Path
) -> None:
    first = _session(terminals, hub_server)
    first.line('invoke Echo "first words"')
    first.wait_for('← [1] "first words"')
    first.keys("C-d")
    assert first.exit_status() == 0

    history = state_home / "hubcli" / "history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert 'invoke Echo "first words"' in history.read_text()

    second = _session(terminals, hub_server)
    second.line("invoke Echo 2")
    second.wait_for("← [1] 2")
    # Ctrl+R finds the first session's line past the newer one; Enter takes the
    # match into the line, Enter again runs it.
    second.keys("C-r")
    second.type("first")
    second.wait_for('(reverse-i-search)`first\': invoke Echo "first words"')
    second.keys("Enter")
    second.wait_for(lambda screen: screen.rstrip().endswith('hub> invoke Echo "first words"'))
    second.keys("Enter")
    second.wait_for('← [2] "first words"')
    # Up: the previous line, as in any shell.
    second.keys("Up")
    second.wait_for(lambda screen: screen.rstrip().endswith('hub> invoke Echo "first words"'))
    second.keys("C-u", "C-d")
    assert second.exit_status() == 0


def test_a_history_that_cannot_be_kept_is_a_warning(
    terminals: Callable[..., Terminal], hub_server: str, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the state directory would have to be under a file
    shell = _session(terminals, hub_server, env={"XDG_STATE_HOME": str(blocked)})
    shell.line("invoke Echo 1")
    screen = shell.wait_for("← [1] 1")
    assert (
        f"hubcli: warning: cannot keep {blocked}/hubcli/history: Not a directory; "
        "this session's lines are not kept"
    ) in screen
    shell.keys("C-d")
    assert shell.exit_status() == 0


@pytest.mark.parametrize(
    ("transport", "protocol"), [("longpolling", "messagepack"), ("sse", "json")]
)
def test_other_transports_and_messagepack(
    terminals: Callable[..., Terminal], hub_server: str, transport: str, protocol: str
) -> None:
    shell = _session(terminals, hub_server, "-t", transport, "-p", protocol)
    shell.line('invoke Echo "über"')
    shell.wait_for('← [1] "über"')
    shell.line("stream Counter 100000 100")
    shell.wait_for("← [2] 1")
    shell.keys("C-c")
    shell.wait_for("← [2] cancelled")
    shell.line("invoke WaitForCancelledStreams 1 10000")
    shell.wait_for("← [3] 1")
    shell.keys("C-d")
    assert shell.exit_status() == 0


def test_history_is_not_written_when_stdin_is_not_a_terminal(
    hub_server: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    done = run(
        "session",
        hub_server,
        stdin='{"id":1,"invoke":"Echo","args":[1]}\n',
        env={"XDG_STATE_HOME": str(state)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"id":1,"result":1}\n'
    assert not state.exists()


def test_tab_completes_commands_and_method_names(
    terminals: Callable[..., Terminal], hub_server: str, tmp_path: Path
) -> None:
    methods = tmp_path / "methods.txt"
    methods.write_text("# the hub's methods\nGetCancelledStreamCount\nCounter  # a stream\n")
    shell = _session(terminals, hub_server, "--methods", str(methods))
    shell.type("str")
    shell.keys("Tab")
    shell.wait_for(lambda screen: screen.rstrip().endswith("hub> stream"))
    shell.type(" Cou")
    shell.keys("Tab")
    shell.wait_for(lambda screen: screen.rstrip().endswith("hub> stream Counter"))
    shell.keys("C-u")
    # upload's options, as hubcli upload has them.
    shell.type("upload --j")
    shell.keys("Tab")
    shell.wait_for(lambda screen: screen.rstrip().endswith("hub> upload --json"))
    shell.keys("C-u")
    # A method used earlier in the session is offered too.
    shell.line("invoke GetConnectionCount")
    shell.wait_for("← [1] 1")
    shell.type("call GetConn")
    shell.keys("Tab")
    shell.wait_for(lambda screen: screen.rstrip().endswith("hub> call GetConnectionCount"))
    shell.keys("Enter")
    shell.wait_for("← [2] 1")
    shell.keys("C-d")
    assert shell.exit_status() == 0


def test_a_push_arriving_while_a_line_is_half_typed_leaves_the_line_whole(
    terminals: Callable[..., Terminal], hub_server: str
) -> None:
    shell = _session(terminals, hub_server, "--on", "ReceiveMessage")
    shell.type('invoke Echo "half a li')
    shell.wait_for(lambda screen: screen.rstrip().endswith('hub> invoke Echo "half a li'))
    # Another client makes the hub push to every connection, this one included.
    sent = run("send", hub_server, "BroadcastMessage", "bob", "hello there")
    assert sent.returncode == 0, sent.stderr
    screen = shell.wait_for('"hello there"')
    assert "⇐ ReceiveMessage" in screen
    # The push is above the prompt, and the half line still below it, still editable.
    lines = [line for line in screen.splitlines() if line.strip()]
    assert lines[-1] == 'hub> invoke Echo "half a li'
    assert screen.index('"hello there"') < screen.rindex('hub> invoke Echo "half a li')
    shell.line('ne"')
    shell.wait_for('← [1] "half a line"')
    shell.keys("C-d")
    assert shell.exit_status() == 0


def test_ctrl_c_cancels_the_stream_and_the_session_lives_on(
    terminals: Callable[..., Terminal], hub_server: str
) -> None:
    shell = _session(terminals, hub_server)
    shell.line("stream Counter 100000 100")
    shell.wait_for("← [1] 2")
    shell.keys("C-c")
    shell.wait_for("← [1] cancelled")
    # The server saw the CancelInvocation: its count of cancelled streams says so.
    shell.line("invoke WaitForCancelledStreams 1 10000")
    shell.wait_for("← [2] 1")
    # Nothing of the stream after it was cancelled.
    assert "← [1]" not in shell.screen().split("← [1] cancelled", 1)[1]
    # Ctrl-C with nothing in flight clears the line and leaves the session be.
    shell.type("invoke Echo never")
    shell.keys("C-c")
    shell.wait_for(lambda screen: screen.rstrip().endswith("hub>"))
    shell.line("invoke Echo still-here")
    shell.wait_for('← [3] "still-here"')
    shell.keys("C-d")
    assert shell.exit_status() == 0


def test_ctrl_c_cancels_a_call_being_waited_for(
    terminals: Callable[..., Terminal], hub_server: str
) -> None:
    shell = _session(terminals, hub_server)
    # `call` holds the prompt until the call ends: Ctrl-C is then a signal. (The
    # hub runs one call of a connection at a time, and SignalR cannot cancel an
    # invoke: the hub goes on with this one for its 3 s, then answers the next.)
    shell.line("call WaitForCancelledStreams 1000 3000")
    shell.wait_for("→ [1] invoke WaitForCancelledStreams")
    shell.keys("C-c")
    shell.wait_for("← [1] cancelled")
    shell.line("invoke Echo 7")
    shell.wait_for("← [2] 7")
    shell.line("/quit")
    assert shell.exit_status() == 0


def test_sigint_as_a_signal_cancels_the_latest_call_or_the_upload_being_typed(
    terminals: Callable[..., Terminal], hub_server: str
) -> None:
    # SIGINT, not the Ctrl-C key: what the terminal sends when Ctrl-C is typed
    # between two prompts (the terminal is not raw then), or what kill sends.
    shell = _session(terminals, hub_server)
    pid = shell.command_pid()
    shell.line("stream Counter 100000 100")
    shell.wait_for("← [1] 1")
    os.kill(pid, signal.SIGINT)
    shell.wait_for("← [1] cancelled")
    shell.line("upload StreamingConcat")
    shell.wait_for("item [2]>")
    shell.line("ab")
    shell.wait_for("item [2]> ab")
    os.kill(pid, signal.SIGINT)
    shell.wait_for("← [2] cancelled")
    shell.wait_for(lambda screen: screen.rstrip().endswith("hub>"))
    shell.line("invoke Echo 1")
    shell.wait_for("← [3] 1")
    shell.keys("C-d")
    assert shell.exit_status() == 0


def test_several_calls_upload_reply_and_slash_commands(
    terminals: Callable[..., Terminal], hub_server: str
) -> None:
    shell = _session(terminals, hub_server)
    shell.line("/help")
    shell.wait_for("/verbose")
    # Two calls at once: the stream runs while another call comes and goes.
    shell.line("stream Counter 1000 50")
    shell.wait_for("← [1] 1")
    shell.line("invoke Echo beside")
    shell.wait_for('← [2] "beside"')
    shell.line("cancel 1")
    shell.wait_for("← [1] cancelled")
    shell.line("upload StreamingConcat")
    shell.wait_for("item [3]>")
    shell.line("ab")
    shell.line("cd")
    shell.keys("Enter")
    shell.wait_for('← [3] "abcd"')
    # --json: each item is JSON (a line that is not is refused, the upload goes
    # on); @stdin: where the stream goes among the ARGs.
    shell.line("upload --stream --json StreamEcho")
    shell.wait_for("item [4]>")
    shell.line('"quoted"')
    shell.wait_for('← [4] "quoted"')
    shell.line("not json")
    shell.wait_for("error: not JSON; type the item again (upload --json)")
    shell.line('"7"')
    shell.wait_for('← [4] "7"')
    shell.keys("C-d")  # ends the items as an empty line does
    shell.wait_for("← [4] done")
    # Ctrl-C while typing an upload's items cancels it.
    shell.line("upload StreamingConcat")
    shell.wait_for("item [5]>")
    shell.line("ef")
    shell.keys("C-c")
    shell.wait_for("← [5] cancelled")
    shell.wait_for(lambda screen: screen.rstrip().endswith("hub>"))
    shell.line("reply GetName '\"bot\"'")
    shell.line("invoke AskCaller GetName []")
    shell.wait_for('← [6] "bot"')
    shell.line("/verbose")
    shell.line("invoke Echo 9")
    shell.wait_for('-> {"type":1,"invocationId"')
    shell.wait_for('<- {"type":3,')
    shell.line("cancel 99")
    shell.wait_for("← error: no call in flight with id 99")
    shell.line("nonsense")
    shell.wait_for("error: unknown command 'nonsense'")
    shell.line("/close")
    assert shell.exit_status() == 0


def test_json_is_typed_as_it_is(terminals: Callable[..., Terminal], hub_server: str) -> None:
    # Not as a shell would split it: {"a": [1, "x y"]} stays one object.
    shell = _session(terminals, hub_server)
    shell.line('invoke Echo {"a": [1, "x y"]}')
    shell.wait_for('→ [1] invoke Echo [{"a":[1,"x y"]}]')
    shell.line("""invoke Echo "two words" 'single quoted' bare""")
    shell.wait_for('→ [2] invoke Echo ["two words","single quoted","bare"]')
    shell.line("/quit")
    assert shell.exit_status() == 0


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('invoke Echo {"a": 1}', ["invoke", "Echo", '{"a": 1}']),
        ('invoke Echo [1, {"b": "c d"}] 2', ["invoke", "Echo", '[1, {"b": "c d"}]', "2"]),
        ('invoke Echo "x y"', ["invoke", "Echo", '"x y"']),
        ("invoke Echo '{\"a\": 1}'", ["invoke", "Echo", '{"a": 1}']),
        # Not whole JSON: a word as a shell reads it.
        ("invoke Echo {a:1} x'y z'", ["invoke", "Echo", "{a:1}", "xy z"]),
        ('invoke Echo {"a":1}x', ["invoke", "Echo", "{a:1}x"]),
        ("  on   Send  ", ["on", "Send"]),
    ],
)
def test_shell_words(line: str, words: list[str]) -> None:
    assert shell_words(line) == words


def test_colour_unless_no_color(terminals: Callable[..., Terminal], hub_server: str) -> None:
    coloured = _session(terminals, hub_server)
    coloured.line('invoke Echo "x"')
    # tmux shows the colours in its own words: green is 32.
    coloured.wait_for('\x1b[32m"x"', escapes=True)
    coloured.keys("C-d")
    plain = _session(terminals, hub_server, env={"NO_COLOR": "1"})
    plain.line('invoke Echo "x"')
    plain.wait_for('← [1] "x"')
    screen = plain.screen(escapes=True)
    assert '32m"x"' not in screen
    forced = _session(terminals, hub_server, "--no-color")
    forced.line('invoke Echo "x"')
    forced.wait_for('← [1] "x"')
    screen = forced.screen(escapes=True)
    assert '32m"x"' not in screen


def test_an_unreadable_methods_file_is_a_usage_error(
    terminals: Callable[..., Terminal], hub_server: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-file"
    shell = terminals("session", "--methods", str(missing), hub_server)
    assert shell.exit_status() == 2
    assert shell.lines() == [
        f"hubcli: error: cannot read --methods {missing}: No such file or directory"
    ]


def test_the_connection_lost_ends_the_shell_with_exit_7(
    terminals: Callable[..., Terminal], start_hub_server: Callable[..., HubServer]
) -> None:
    server = start_hub_server("--chaos")
    shell = _session(terminals, server.url)
    shell.line("stream Counter 100000 100")
    shell.wait_for("← [1] 1")
    shell.line("invoke DropConnection")
    assert shell.exit_status() == 7
    screen = "\n".join(shell.lines())
    assert "← [1] error:" in screen  # the call in flight is told first
    assert "hubcli: error: " in screen


def test_a_failed_connect_is_one_error_line(
    terminals: Callable[..., Terminal], unused_port: int
) -> None:
    shell = terminals("session", f"http://127.0.0.1:{unused_port}/hub")
    assert shell.exit_status() == 4
    lines = shell.lines()
    assert len(lines) == 1
    assert lines[0].startswith("hubcli: error: ")


def test_ctrl_c_while_connecting_gives_up_with_exit_130(
    terminals: Callable[..., Terminal],
) -> None:
    # A server that takes the TCP connection and never answers the negotiate.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        shell = terminals(
            "session", "-v", "--connect-timeout", "60", f"http://127.0.0.1:{port}/hub"
        )
        shell.wait_for("negotiate: POST")
        shell.keys("C-c")
        assert shell.exit_status() == 130
    assert "connected to" not in shell.screen()


def test_without_prompt_toolkit_one_error_line_and_exit_2(
    terminals: Callable[..., Terminal], hub_server: str
) -> None:
    # As if the shell extra were not installed: the import of prompt_toolkit fails.
    code = (
        "import sys; sys.modules['prompt_toolkit'] = None; sys.argv[0] = 'hubcli'; "
        "from hubcli.cli.app import main; main()"
    )
    shell = terminals(command=[sys.executable, "-c", code, "session", hub_server])
    assert shell.exit_status() == 2
    assert shell.lines() == [
        "hubcli: error: the interactive shell needs prompt_toolkit, which is not installed "
        "(pip install 'hubcli[shell]'; or give requests on stdin, e.g. < calls.jsonl)"
    ]
