"""The README's promises that code can check: its first lines and its library example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_two_fresh_machine_commands_come_first() -> None:
    first = README.split("```sh\n", 1)
    assert first[0] == (
        "# hubcli\n\nOn a fresh machine (Python 3.11+; Node 20 + npm for the conformance tests):"
        "\n\n"
    )
    commands = first[1].split("```", 1)[0].splitlines()
    assert commands[0] == (
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/hubcli demo"
    )
    # .ci/run runs the second one verbatim.
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_placeholder_for_the_lead_is_there() -> None:
    assert "\n## Transports and ways in\n" in README


def test_library_example_prints_what_the_readme_says(shared_hub_server: str) -> None:
    section = README.split("\n## Library API\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    expected = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert code is not None
    assert expected is not None
    source = code.group(1)
    assert "http://127.0.0.1:5000/hub" in source
    result = subprocess.run(
        [sys.executable, "-c", source.replace("http://127.0.0.1:5000/hub", shared_hub_server)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected.group(1)


def test_library_push_example_runs(shared_hub_server: str) -> None:
    section = README.split("\n## Library API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2
    source = f"import trio\nimport hubcli\n{blocks[1]}\ntrio.run(chat, {shared_hub_server!r})\n"
    result = subprocess.run(
        [sys.executable, "-c", source],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[[0], [1]]\n"
