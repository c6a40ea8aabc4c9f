"""The generated files (completions, man page, README blocks) match the typer app.

If one of these fails after a change to the command line, regenerate and commit:

    python -m hubcli.devtools.docs
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from hubcli.cli import helptext
from hubcli.cli.app import _register_commands, app
from hubcli.cli.exit_codes import EXIT_CODE_MEANINGS, ExitCode
from hubcli.devtools import docs

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_files_are_up_to_date() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in docs.generated_files(ROOT).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, (
        f"out of date with the typer app: {', '.join(stale)}; "
        f"run `{docs.COMMAND}` and commit the result"
    )


def test_generation_is_deterministic() -> None:
    cli = docs.cli_doc()
    assert docs.man_page(cli) == docs.man_page(docs.cli_doc())
    assert docs.bash_completion(cli) == docs.bash_completion(docs.cli_doc())


def test_stale_files_names_what_changed(tmp_path: Path) -> None:
    for path in docs.generated_files(ROOT):
        copy = tmp_path / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    bash = tmp_path / "completions" / "hubcli.bash"
    bash.write_text(bash.read_text(encoding="utf-8").replace("--count", "--cunt"))
    assert docs.stale_files(tmp_path) == [bash]
    with pytest.raises(ValueError, match="lacks the generated block"):
        docs.readme("# no blocks\n", docs.cli_doc())


def test_every_command_has_examples_and_exit_codes() -> None:
    names = [command.name for command in docs.cli_doc().commands]
    assert {"invoke", "send", "stream", "upload", "serve", "demo"} <= set(names)
    for name in names:
        assert helptext.EXAMPLES.get(name), f"add examples of {name} to hubcli/cli/helptext.py"
        assert helptext.EXIT_CODES.get(name), f"add {name}'s exit codes to helptext.py"
    for codes in helptext.EXIT_CODES.values():
        assert ExitCode.OK in codes
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)


def _parse(argv: list[str]) -> None:
    """Parse `hubcli COMMAND ...` with the real app (nothing runs); UsageError if wrong."""
    _register_commands()
    group = typer.main.get_command(app)
    root = typer.Context(group, info_name="hubcli", **group.context_settings)
    name, *rest = argv
    command = group.get_command(root, name)  # type: ignore[attr-defined]
    assert command is not None, f"no command {name!r}"
    command.make_context(name, rest, parent=root)


def _hubcli_argvs(shell_line: str) -> list[list[str]]:
    """The argv of each `hubcli ...` in a shell line (pipelines included)."""
    words = shlex.split(shell_line, comments=True)
    commands: list[list[str]] = [[]]
    for word in words:
        if word in ("|", "&&", ";"):
            commands.append([])
        else:
            commands[-1].append(word)
    return [command[1:] for command in commands if command and command[0] == "hubcli"]


def _example_commands() -> list[str]:
    return [example.command for examples in helptext.EXAMPLES.values() for example in examples]


@pytest.mark.parametrize("line", _example_commands())
def test_help_examples_are_valid_command_lines(line: str) -> None:
    argvs = _hubcli_argvs(line)
    assert argvs, line
    for argv in argvs:
        _parse(argv)
    # The man page shows them in a literal block 10 columns in: 70 fit in 80.
    assert len(line) <= 70, f"shorten this example to 70 columns: {line}"


def _readme_shell_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if "hubcli " in line]


@pytest.mark.parametrize("line", _readme_shell_lines())
def test_readme_examples_are_valid_command_lines(line: str) -> None:
    line = line.replace("$URL", helptext.HUB_URL)
    for argv in _hubcli_argvs(line.replace(".venv/bin/hubcli", "hubcli")):
        if argv:
            _parse(argv)


def test_environment_table_names_every_envvar_of_the_options() -> None:
    documented = {name for names, _ in helptext.ENVIRONMENT for name in names.split(", ")}
    _register_commands()
    group = typer.main.get_command(app)
    for command in group.commands.values():  # type: ignore[attr-defined]
        for param in command.params:
            for name in [param.envvar] if isinstance(param.envvar, str) else param.envvar or []:
                assert name in documented, f"document {name} in helptext.ENVIRONMENT"
    for name in ("HUBCLI_TOKEN", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "NO_COLOR"):
        assert name in documented


def test_parse_rejects_what_the_app_rejects() -> None:
    # click's errors, which typer does not export: each carries the usage status.
    for argv in (["stream", "--cunt", "3", helptext.HUB_URL, "Counter"], ["invoke"]):
        with pytest.raises(Exception) as raised:  # noqa: PT011
            _parse(argv)
        assert getattr(raised.value, "exit_code", None) == 2, argv


def test_output_does_not_depend_on_import_order() -> None:
    # Another test importing one command module first changes typer's registration
    # order; the generated files must not follow it.
    script = (
        "import hubcli.cli.serve, hubcli.cli.upload\n"
        "from hubcli.devtools import docs\n"
        "print(docs.bash_completion(docs.cli_doc()), end='')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == docs.bash_completion(docs.cli_doc())
