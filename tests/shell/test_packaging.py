"""The wheel carries the completions and the man page; pipx and uv install a hubcli.

The wheel is built offline with the hatchling of the test extra. The pipx and uv
tests run only where those tools are installed (they fetch hubcli's dependencies
from the package index), in a throw-away HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hubcli import __version__

ROOT = Path(__file__).resolve().parents[2]
DATA_FILES = {
    "share/bash-completion/completions/hubcli": ROOT / "completions" / "hubcli.bash",
    "share/zsh/site-functions/_hubcli": ROOT / "completions" / "_hubcli",
    "share/fish/vendor_completions.d/hubcli.fish": ROOT / "completions" / "hubcli.fish",
    "share/man/man1/hubcli.1": ROOT / "man" / "hubcli.1",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("hubcli-*.whl")
    return built


def test_wheel_carries_completions_and_man_page_as_data(wheel: Path) -> None:
    prefix = f"hubcli-{__version__}.data/data/"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for target, source in DATA_FILES.items():
            assert prefix + target in names, target
            assert archive.read(prefix + target) == source.read_bytes()
        assert not any(name.startswith("hubcli/devtools/") for name in names)
        assert "hubcli/py.typed" in names  # PEP 561: type checkers read the package
        assert "hubcli/schemas/session-v1.json" in names  # the session protocol's schema
        entry_points = archive.read(f"hubcli-{__version__}.dist-info/entry_points.txt")
    assert b"hubcli = hubcli.cli.app:main" in entry_points


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def _check_installed(bin_dir: Path, share_root: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(bin_dir / "hubcli"), "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"hubcli {__version__}\n"), result.stderr
    for target in DATA_FILES:
        found = list(share_root.rglob(target))
        assert found, f"{target} not installed under {share_root}"


@pytest.mark.slow
@pytest.mark.skipif(_tool("pipx") is None, reason="pipx is not installed")
def test_pipx_install(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    subprocess.run(
        [str(_tool("pipx")), "install", str(ROOT)],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    _check_installed(tmp_path / "bin", tmp_path / "pipx", env)


@pytest.mark.slow
@pytest.mark.skipif(_tool("uv") is None, reason="uv is not installed")
def test_uv_tool_install(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
        "UV_CACHE_DIR": str(tmp_path / "cache"),
    }
    subprocess.run(
        [str(_tool("uv")), "tool", "install", str(ROOT)],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    _check_installed(tmp_path / "bin", tmp_path / "tools", env)
