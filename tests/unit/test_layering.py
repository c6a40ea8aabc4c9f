"""The protocol core stays pure: importing it pulls in no I/O, trio or CLI machinery."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PROTOCOL_DIR = Path(__file__).parents[2] / "hubcli" / "protocol"
# What the core may import from the rest of hubcli: itself and the exception tree.
SHARED = ("hubcli.protocol", "hubcli.errors")
FORBIDDEN = {
    "trio",
    "trio_websocket",
    "socket",
    "ssl",
    "asyncio",
    "selectors",
    "typer",
    "click",
    "httpx",
    "hypercorn",
    "wsproto",
    "h11",
    "subprocess",
    "threading",
}


def test_protocol_modules_import_nothing_that_does_io() -> None:
    for path in PROTOCOL_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
                assert not name.startswith("hubcli.") or name.startswith(SHARED), (
                    f"{path.name} imports {name} from another layer"
                )


def test_the_exception_tree_imports_nothing() -> None:
    # The protocol core raises hubcli.errors' classes, so that module must stay pure.
    tree = ast.parse((PROTOCOL_DIR.parent / "errors.py").read_text(encoding="utf-8"))
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert imported == ["__future__"]


def test_importing_the_protocol_loads_no_io_modules() -> None:
    modules = sorted(
        f"hubcli.protocol.{path.stem}".removesuffix(".__init__")
        for path in PROTOCOL_DIR.glob("*.py")
    )
    assert "hubcli.protocol.msgpack_protocol" in modules
    probe = (
        f"import sys, {', '.join(modules)};"
        f"print(sorted(set(m.split('.')[0] for m in sys.modules) & set({sorted(FORBIDDEN)!r})))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
