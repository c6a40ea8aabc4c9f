"""`hubcli serve --json-naming camel|pascal`: one naming policy for every typed
object in JSON, the members' own names in MessagePack, and case-insensitive binding
of typed parameters (naming.py)."""

from __future__ import annotations

import json

import pytest

from hubcli.protocol import Invocation
from hubcli.server.naming import Naming, Record, apply, bind, camel_case
from tests.cli.hubcli_process import run
from tests.server.conftest import StartHub
from tests.server.rawclient import RawHub
from tests.serverproc import serve_refusal, start_hub_server

COMPLEX = ["String", "IntArray", "ByteArray", "Guid", "DateTime"]


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("ByteArray", "byteArray"),
        ("String", "string"),
        ("ID", "id"),
        ("URLValue", "urlValue"),
        ("IOStream", "ioStream"),
        ("already", "already"),
        ("A", "a"),
        ("", ""),
    ],
)
def test_camel_case_as_system_text_json(name: str, camel: str) -> None:
    assert camel_case(name) == camel


def test_records_are_renamed_and_dictionaries_are_not() -> None:
    value = Record(Outer=Record(InnerValue=1), Headers={"X-Keep": "as is"})
    assert apply([value], Naming.CAMEL) == [
        {"outer": {"innerValue": 1}, "headers": {"X-Keep": "as is"}}
    ]
    assert apply(value, Naming.PASCAL) == {
        "Outer": {"InnerValue": 1},
        "Headers": {"X-Keep": "as is"},
    }


def test_binding_ignores_case_drops_unknown_and_defaults_missing() -> None:
    assert bind({"nAmE": "x", "other": 1}, ["Name", "Value"]) == {"Name": "x", "Value": None}
    assert bind(None, ["Name"]) is None


@pytest.mark.parametrize("naming", ["camel", "pascal"])
async def test_typed_results_follow_the_policy(start_hub: StartHub, naming: str) -> None:
    hub = await start_hub(json_naming=naming)
    expected = COMPLEX if naming == "pascal" else [camel_case(name) for name in COMPLEX]
    async with RawHub.connect(hub.url) as raw:
        sent = (await raw.invoke("SendComplexObject")).result
        assert list(sent) == expected
        echoed = (await raw.invoke("EchoComplexObject", {"STRING": "s", "intarray": [1]})).result
        assert echoed == dict(zip(expected, ["s", [1], None, None, None], strict=True))
        await raw.send(Invocation("SendCustomObject", [{"name": "n", "VALUE": 1}]))
        pushed = await raw.receive()
        assert isinstance(pushed, Invocation)
        custom = ["Name", "Value"] if naming == "pascal" else ["name", "value"]
        assert pushed.arguments == [dict(zip(custom, ["n", 1], strict=True))]
    # MessagePack writes the members' own names whatever the JSON policy.
    async with RawHub.connect(hub.url, protocol="messagepack") as raw:
        assert list((await raw.invoke("SendComplexObject")).result) == COMPLEX


def test_the_command_line_flag() -> None:
    server = start_hub_server("--json-naming", "PASCAL")
    try:
        result = run("invoke", server.url, "SendComplexObject")
        assert list(json.loads(result.stdout)) == COMPLEX, result
    finally:
        server.stop()
    line = serve_refusal("--json-naming", "snake")
    assert line.startswith("hubcli: error: invalid value for '--json-naming'"), line
