"""No object reaches into another's private state, and the public classes show
only what a user is meant to call."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import hubcli.client

PACKAGE = Path(__file__).resolve().parents[2] / "hubcli"
# A named tuple's documented API is spelled with a leading underscore.
NAMED_TUPLE_API = {"_replace", "_asdict", "_make", "_fields", "_field_defaults"}


def test_no_object_touches_another_objects_private_attributes() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            if node.attr.startswith("__") or node.attr in NAMED_TUPLE_API:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_every_public_member_of_the_public_classes_is_documented() -> None:
    undocumented = []
    for name in hubcli.client.__all__:
        cls = getattr(hubcli.client, name)
        if not inspect.isclass(cls) or issubclass(cls, BaseException):
            continue
        fields = {*getattr(cls, "__dataclass_fields__", {}), *getattr(cls, "__slots__", ())}
        for member, value in vars(cls).items():
            if member.startswith("_") or member in fields:
                continue
            if not isinstance(value, (property, staticmethod, classmethod)) and not callable(value):
                continue
            if not inspect.getdoc(getattr(cls, member)):
                undocumented.append(f"{name}.{member}")
    assert undocumented == []


def test_clean_up_machinery_is_not_part_of_the_hub() -> None:
    public = {member for member in vars(hubcli.client.Hub) if not member.startswith("_")}
    assert public == {
        "abort",
        "connection_id",
        "events",
        "invoke",
        "invoke_completion",
        "off",
        "on",
        "reconnects",
        "resumes",
        "send",
        "stream",
        "transport",
    }


def test_no_two_classes_of_the_library_and_the_server_share_a_name() -> None:
    # A client HubConnection beside a server HubConnection made every traceback and
    # search ambiguous. (hubcli/cli is left to its owners: its two Example classes.)
    where: dict[str, list[str]] = {}
    paths = [PACKAGE / "errors.py"]
    for layer in ("protocol", "client", "server"):
        paths.extend(sorted((PACKAGE / layer).rglob("*.py")))
    for path in paths:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(str(path.relative_to(PACKAGE)))
    assert {name: found for name, found in where.items() if len(found) > 1} == {}


def test_module_names_do_not_borrow_the_hubs_words() -> None:
    # "streams" in a SignalR client means hub streams (StreamCall); the byte streams
    # to a host live in network_streams.py.
    client = PACKAGE / "client"
    assert not (client / "streams.py").exists()
    assert (client / "network_streams.py").exists()
