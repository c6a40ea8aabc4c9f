"""ruff and mypy --strict are part of the test suite, so CI fails when they do."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_check() -> None:
    result = _run("ruff", "check", "hubcli", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", "hubcli", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run("mypy", "--strict", "hubcli")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_private_module_of_a_library_is_imported() -> None:
    # typer vendors click as typer._click and exports only part of it: what hubcli
    # needs it reaches through typer's public names and click's documented methods.
    private = re.compile(r"^\s*(?:from|import)\s+(?!hubcli\b)[A-Za-z]\w*(?:\.\w+)*\._", re.M)
    found = [
        f"{path.relative_to(ROOT)}: {match.group().strip()}"
        for folder in ("hubcli", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        # The benches' own venvs (bench/.venv-*, made on first use) hold libraries.
        if not any(part.startswith(".venv") for part in path.relative_to(ROOT).parts)
        for match in private.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, found
