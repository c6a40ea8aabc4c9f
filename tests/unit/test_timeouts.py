"""Every clean-up bound is a named setting: a literal number of seconds in a
`move_on_after` or as a `*timeout` parameter's default is the user's
`close_timeout` (or a constant of hubcli/_defaults.py) forgotten."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "hubcli"
TIME_LIMITS = {"move_on_after", "fail_after", "move_on_at", "fail_at"}


def _is_number(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value != 0


def test_no_time_limit_is_a_bare_number() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            limit = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in TIME_LIMITS
                and any(_is_number(arg) for arg in node.args)
            )
            setting = (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Attribute) and t.attr.endswith("timeout")
                    for t in node.targets
                )
                and _is_number(node.value)
            )
            if limit or setting:
                found.append(f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', 0)}")
    assert found == []


def test_library_timeout_parameters_default_to_named_settings() -> None:
    found = []
    for layer in ("client", "protocol"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                arguments = node.args
                positional = [*arguments.posonlyargs, *arguments.args]
                pairs = list(
                    zip(
                        positional[len(positional) - len(arguments.defaults) :],
                        arguments.defaults,
                        strict=True,
                    )
                )
                pairs += [
                    (arg, default)
                    for arg, default in zip(
                        arguments.kwonlyargs, arguments.kw_defaults, strict=True
                    )
                    if default is not None
                ]
                for arg, default in pairs:
                    if arg.arg.endswith("timeout") and _is_number(default):
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {arg.arg}")
    assert found == []
