"""The completion files work in the real shells, not only exist.

bash: the completion function is driven through COMP_WORDS/COMP_CWORD in a real
bash, as readline does on TAB. fish: `complete -C` asks fish itself what it would
offer. zsh: the file parses, compinit registers it through #compdef, and a real
interactive zsh in tmux completes a command on TAB.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASH = ROOT / "completions" / "hubcli.bash"
ZSH = ROOT / "completions" / "_hubcli"
FISH = ROOT / "completions" / "hubcli.fish"


def _bash_complete(*words: str) -> list[str]:
    """What TAB offers after `words` (the last one being completed)."""
    array = " ".join(shlex.quote(word) for word in words)
    script = (
        f"source {shlex.quote(str(BASH))}\n"
        f"COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; COMPREPLY=()\n"
        '_hubcli; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def test_bash_registers_the_completion() -> None:
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"source {BASH} && complete -p hubcli"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() == "complete -o default -F _hubcli hubcli"


def test_bash_completes_commands() -> None:
    assert _bash_complete("hubcli", "") == [
        "bench",
        "demo",
        "invoke",
        "listen",
        "send",
        "serve",
        "session",
        "stream",
        "upload",
    ]
    assert _bash_complete("hubcli", "st") == ["stream"]
    assert _bash_complete("hubcli", "--v") == ["--version"]


def test_bash_completes_options_per_command() -> None:
    assert sorted(_bash_complete("hubcli", "stream", "--co")) == [
        "--color",
        "--compact",
        "--connect-retries",
        "--connect-timeout",
        "--cookie",
        "--count",
    ]
    assert _bash_complete("hubcli", "upload", "--nu") == ["--null"]
    assert "--list-methods" in _bash_complete("hubcli", "serve", "--")
    assert "--count" not in _bash_complete("hubcli", "invoke", "--c")
    # Options anywhere before --, none after it.
    assert _bash_complete("hubcli", "stream", "http://h/hub", "M", "--max") == [
        "--max-time",
        "--max-message-size",
    ]
    assert _bash_complete("hubcli", "stream", "--", "--co") == []


def test_bash_completes_choices() -> None:
    assert _bash_complete("hubcli", "stream", "-p", "") == ["json", "messagepack"]
    assert _bash_complete("hubcli", "invoke", "--protocol", "m") == ["messagepack"]
    assert _bash_complete("hubcli", "stream", "-t", "websockets,s") == ["websockets,sse"]
    # A value of the user's own: nothing from us (bash falls back to file names).
    assert _bash_complete("hubcli", "stream", "--count", "") == []


def test_zsh_parses_and_registers_the_completion(
    require_tool: Callable[[str], str], tmp_path: Path
) -> None:
    zsh = require_tool("zsh")
    subprocess.run([zsh, "-n", str(ZSH)], check=True, timeout=30)
    script = (
        f"fpath=({shlex.quote(str(ZSH.parent))} $fpath); autoload -U compinit; "
        f"compinit -u -d {shlex.quote(str(tmp_path / 'zcompdump'))}; print -r -- $_comps[hubcli]"
    )
    result = subprocess.run(
        [zsh, "-f", "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "_hubcli"


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_zsh_completes_on_tab(require_tool: Callable[[str], str], tmp_path: Path) -> None:
    zsh = require_tool("zsh")
    server = f"hubcli-zsh-{tmp_path.name}"  # a tmux server of this test's own
    (tmp_path / ".zshrc").write_text(
        f"fpath=({shlex.quote(str(ZSH.parent))} $fpath)\n"
        f"autoload -U compinit && compinit -u -d {shlex.quote(str(tmp_path / 'zcompdump'))}\n"
        "PS1='zsh-ready> '\n"
    )
    command = f"ZDOTDIR={shlex.quote(str(tmp_path))} {zsh} -i"

    def screen() -> str:
        return _tmux("-L", server, "capture-pane", "-p", "-t", "zsh")

    def wait_for(text: str) -> None:
        deadline = time.monotonic() + 20
        while text not in screen():
            assert time.monotonic() < deadline, f"no {text!r} on the screen:\n{screen()}"
            time.sleep(0.1)

    _tmux("-L", server, "new-session", "-d", "-s", "zsh", "-x", "120", "-y", "20", command)
    try:
        wait_for("zsh-ready>")
        _tmux("-L", server, "send-keys", "-t", "zsh", "hubcli upl", "Tab")
        wait_for("zsh-ready> hubcli upload")
        # The first TAB lists the one match with its description, the second inserts it.
        _tmux("-L", server, "send-keys", "-t", "zsh", " --nu", "Tab")
        wait_for("stdin records end at NUL bytes")
        _tmux("-L", server, "send-keys", "-t", "zsh", "Tab")
        wait_for("zsh-ready> hubcli upload --null")
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], check=False, timeout=30)


def _fish_complete(fish: str, line: str) -> list[str]:
    script = f"source {shlex.quote(str(FISH))}; complete -C {shlex.quote(line)}"
    result = subprocess.run(
        [fish, "--no-config", "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return [entry.split("\t")[0] for entry in result.stdout.splitlines()]


def test_fish_parses_and_completes(require_tool: Callable[[str], str]) -> None:
    fish = require_tool("fish")
    subprocess.run([fish, "--no-execute", str(FISH)], check=True, timeout=30)
    assert _fish_complete(fish, "hubcli st") == ["stream"]
    assert set(_fish_complete(fish, "hubcli stream --co")) == {
        "--color",
        "--compact",
        "--count",
        "--cookie",
        "--connect-timeout",
        "--connect-retries",
    }
    assert _fish_complete(fish, "hubcli stream -p ") == ["json", "messagepack"]
    assert "--list-methods" in _fish_complete(fish, "hubcli serve --")
