"""Files named on the command line: whatever the path names, one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from .hubcli_process import run

URL = "http://127.0.0.1:9/hub"  # never reached: files are checked before connecting

# Each option that names a file, as a command line with PATH in it.
FILE_OPTIONS = {
    "--args @FILE": ["invoke", "--args", "@PATH", URL, "Echo"],
    "--token-file": ["send", "--token-file", "PATH", URL, "Echo"],
    "-b FILE": ["stream", "-b", "PATH", URL, "Counter"],
    "--cacert": ["invoke", "--cacert", "PATH", URL, "Echo"],
    "--cert": ["listen", "--cert", "PATH", URL],
    "--key": ["invoke", "--cert", "PATH", "--key", "PATH", URL, "Echo"],
    "serve --tls-cert": ["serve", "--port", "0", "--tls-cert", "PATH", "--tls-key", "PATH"],
}


def _paths(tmp_path: Path) -> dict[str, str]:
    paths = {
        "a directory": str(tmp_path),
        "a name too long": str(tmp_path / ("x" * 300)),
        "a missing file": str(tmp_path / "missing"),
    }
    for device in ("/dev/zero", "/dev/full"):  # endless to read
        if Path(device).exists():
            paths[device] = device
    return paths


@pytest.mark.parametrize("kind", ["a directory", "a name too long", "a missing file", "/dev/zero"])
@pytest.mark.parametrize("option", FILE_OPTIONS)
def test_any_path_is_one_line_and_exit_2(tmp_path: Path, option: str, kind: str) -> None:
    path = _paths(tmp_path).get(kind)
    if path is None:
        pytest.skip(f"no {kind} here")
    argv = [word.replace("PATH", path) for word in FILE_OPTIONS[option]]
    result = run(*argv)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("hubcli: error: "), line
    assert "internal error" not in line


def test_endless_files_are_refused_at_their_limit() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    said = {
        ("--token-file", "/dev/zero"): "--token-file /dev/zero is larger than the limit of "
        "1048576 bytes",
        ("--args", "@/dev/zero"): "--args @/dev/zero is larger than the limit of 16777216 bytes",
        ("-b", "/dev/zero"): "cannot read the cookie file /dev/zero: not a regular file",
    }
    for (flag, value), message in said.items():
        result = run("invoke", flag, value, URL, "Echo")
        assert (result.returncode, result.stderr) == (2, f"hubcli: error: {message}\n")


def test_args_from_an_endless_stdin_is_refused_at_its_limit() -> None:
    result = run("invoke", "--args", "@-", URL, "Echo", stdin=b"[" + b" " * (16 * 1024 * 1024))
    assert result.returncode == 2
    assert result.stderr.startswith("hubcli: error: --args @- is larger than the limit")


@pytest.mark.parametrize("command", ["invoke", "send", "stream", "upload"])
@pytest.mark.parametrize("method", ["", " "])
def test_an_empty_method_name_is_a_usage_error(command: str, method: str) -> None:
    result = run(command, URL, method, stdin="")
    assert result.returncode == 2, result.stderr
    assert "the method name is empty" in result.stderr


def test_an_empty_call_method_is_a_usage_error() -> None:
    result = run("listen", "--call", "'' 1", URL)
    assert (result.returncode, result.stderr) == (
        2,
        "hubcli: error: --call \"'' 1\" needs a METHOD (e.g. --call 'JoinGroup room1')\n",
    )


def test_serve_with_tls_files_that_are_not_pem_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    result = run("serve", "--port", "0", "--tls-cert", str(bad), "--tls-key", str(bad))
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.startswith(f"hubcli: error: cannot use --tls-cert {bad}"), result.stderr
