"""A cold `hubcli invoke` loads only what it uses (the cold-start budget of issue 4)."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from hubcli.cli.app import COMMAND_MODULES
from hubcli.cli.startup import YOUNG_OBJECTS

# Modules a JSON `invoke` over WebSockets has no use for. (httpx it uses: negotiate
# is an httpx request like every other HTTP request; see tests/transports/test_commands.py
# for a run without negotiate, which loads none of it.)
UNUSED_BY_INVOKE = (
    "hubcli.server",
    "hypercorn",
    "msgpack",
    "hubcli.protocol.msgpack_protocol",
    "hubcli.cli.serve",
    "hubcli.cli.demo",
    "hubcli.cli.send",
    "hubcli.cli.stream",
    "hubcli.cli.upload",
)


def _run_in_probe(*argv: str) -> tuple[str, list[str], str]:
    """Run hubcli's main() with `argv` in a fresh interpreter: its stdout, the
    unused modules it loaded, and the collector's state afterwards."""
    probe = (
        "import gc, sys\n"
        f"sys.argv = ['hubcli', *{list(argv)!r}]\n"
        "from hubcli.cli.app import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"loaded = [m for m in {UNUSED_BY_INVOKE!r} if m in sys.modules]\n"
        "print(loaded, gc.isenabled(), gc.get_freeze_count() > 0, gc.get_threshold()[0],"
        " file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    *_, last = result.stderr.strip().splitlines()
    loaded, collector = last.split("]", 1)
    return result.stdout, [m.strip(" '") for m in loaded.strip("[").split(",") if m], collector


def test_invoke_loads_no_other_command_server_or_codec(shared_hub_server: str) -> None:
    stdout, loaded, _ = _run_in_probe("invoke", shared_hub_server, "Echo", "1")
    assert stdout == "1\n"
    assert loaded == []


def test_the_probe_sees_what_a_command_loads(shared_hub_server: str) -> None:
    stdout, loaded, _ = _run_in_probe(
        "stream", "-p", "messagepack", shared_hub_server, "Counter", "2", "0"
    )
    assert stdout == "0\n1\n"
    assert set(loaded) == {"msgpack", "hubcli.protocol.msgpack_protocol", "hubcli.cli.stream"}


@pytest.mark.parametrize("argv", [("--version",), ("invoke", "--help")])
def test_the_collector_runs_again_after_any_command(argv: tuple[str, ...]) -> None:
    _, _, collector = _run_in_probe(*argv)
    # Nothing frozen, the default threshold: no command ran.
    assert collector.split() == ["True", "False", str(gc.get_threshold()[0])]


def test_what_a_command_imported_is_frozen_out_of_collections(shared_hub_server: str) -> None:
    _, _, collector = _run_in_probe("invoke", shared_hub_server, "Echo", "1")
    assert collector.split() == ["True", "True", str(YOUNG_OBJECTS)]


@pytest.mark.parametrize("argv", [["--help"], ["-h", "invoke"], ["--help", "serve"]])
def test_root_help_lists_every_command_in_order(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubcli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = result.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    # A description too long for the width goes on below its command, indented deeper.
    commands = [line.split()[0] for line in listed if not line.startswith("   ")]
    assert commands == list(COMMAND_MODULES)
