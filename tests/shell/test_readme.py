"""The README's promises that code can check: its first lines and its library example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
# A locustfile runs under Locust, not as a program: the README shows one of the
# shipped examples (examples/locust), which tests/locust runs.
LOCUSTFILES = [block for block in PYTHON_BLOCKS if "(SignalRUser)" in block]
PYTHON_EXAMPLES = [block for block in PYTHON_BLOCKS if block not in LOCUSTFILES]


def _run_example(source: str, url: str) -> subprocess.CompletedProcess[str]:
    if "trio.run(" in source:
        program = source.replace("http://127.0.0.1:5000/hub", url)
    else:
        # A fragment defines `async def NAME(url: str)`: run the first such function.
        found = re.search(r"^async def (\w+)\(url: str\)", source, re.MULTILINE)
        assert found is not None, "a README example is neither a program nor a function of url"
        program = f"import trio\n{source}\ntrio.run({found.group(1)}, {url!r})\n"
    return subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_library_push_example_runs(shared_hub_server: str) -> None:
    section = README.split("\n## Library API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    result = _run_example(next(block for block in blocks if "def chat" in block), shared_hub_server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[[0], [1]]\n"


@pytest.mark.parametrize("index", range(len(PYTHON_EXAMPLES)))
def test_every_python_example_runs(shared_hub_server: str, index: int) -> None:
    result = _run_example(PYTHON_EXAMPLES[index], shared_hub_server)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("index", range(len(LOCUSTFILES)))
def test_a_locustfile_shown_is_a_shipped_example(index: int) -> None:
    shipped = {
        path.name: path.read_text(encoding="utf-8")
        for path in (ROOT / "examples" / "locust").glob("*.py")
    }
    assert any(text.endswith("\n" + LOCUSTFILES[index]) for text in shipped.values()), (
        "the README's locustfile is not the code of a file in examples/locust"
    )


def test_python_examples_pass_mypy_strict_against_the_installed_package(
    tmp_path: Path,
) -> None:
    """Type-checked as a user's program sees hubcli: as an installed package, which
    mypy reads only if it ships py.typed (PEP 561)."""
    assert len(PYTHON_EXAMPLES) >= 3
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    # hubcli from this tree, its dependencies from the test environment.
    dependencies = [path for path in sys.path if path.endswith("site-packages")]
    (site / "hubcli.pth").write_text("\n".join([str(ROOT), *dependencies]) + "\n")
    files = []
    for index, source in enumerate(PYTHON_EXAMPLES):
        path = tmp_path / f"readme_example_{index}.py"
        path.write_text(source, encoding="utf-8")
        files.append(str(path))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--python-executable",
            str(venv / "bin" / "python"),
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
