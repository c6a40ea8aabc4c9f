"""Fixtures of the shell-citizen tests: the shells whose completion files are tested."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest

SHELLS = ("zsh", "fish")
# apt-get update + install of zsh and fish: about 10-30 s, once per session, in CI only.
APT_TIMEOUT = 600


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def installed_shells() -> set[str]:
    """zsh and fish, installed from Debian's packages when missing in CI (as root).

    Outside CI a missing shell skips its tests instead: a developer's machine is
    not ours to change.
    """
    missing = [shell for shell in SHELLS if shutil.which(shell) is None]
    if missing and _in_ci() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "update", "-qq"],
            env=env,
            timeout=APT_TIMEOUT,
            check=False,
            capture_output=True,
        )
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            env=env,
            timeout=APT_TIMEOUT,
            check=False,
            capture_output=True,
        )
    return {shell for shell in SHELLS if shutil.which(shell) is not None}


@pytest.fixture
def require_shell(installed_shells: set[str]) -> Callable[[str], str]:
    """require_shell("zsh") -> its path; skips outside CI when absent, fails in CI."""

    def require(shell: str) -> str:
        path = shutil.which(shell)
        if path is None or shell not in installed_shells:
            message = f"{shell} is not installed (apt-get install {shell})"
            if _in_ci():
                pytest.fail(f"{message}; CI installs it, so this is a broken setup")
            pytest.skip(message)
        return path

    return require
