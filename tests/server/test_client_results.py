"""Client results: the server asks a client for a value and waits for its Completion.

Texts and rules of ASP.NET Core 8+ (DefaultHubLifetimeManager.InvokeConnectionAsync,
ClientResultsManager, HubCallerClients): ids s1, s2, ... from one server-wide
counter; a client's error comes back as a HubException, so the invoking caller
sees it with or without detailed errors; unknown and dropped connections are
IOExceptions, shown only with detailed errors.
"""

from __future__ import annotations

import pytest

from hubcli.protocol import Close, Completion, CompletionKind, Invocation
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub, RawHubBase, Transport, raw_hub

ASK_CALLER_FAILED = "An unexpected error occurred invoking 'AskCaller' on the server."
ASK_CLIENT_FAILED = "An unexpected error occurred invoking 'AskClient' on the server."


async def connection_id(raw: RawHubBase) -> str:
    result = (await raw.invoke("GetCallerConnectionId")).result
    assert isinstance(result, str)
    return result


async def ask(raw: RawHubBase, target: str, *arguments: object) -> tuple[str, Invocation]:
    """Send AskCaller(target, arguments); the invocation id and the server's request."""
    invocation_id = raw.new_id()
    await raw.send(Invocation("AskCaller", [target, list(arguments)], invocation_id))
    return invocation_id, await raw.receive_invocation()


@pytest.mark.parametrize(
    ("transport", "protocol"),
    [("websockets", "json"), ("websockets", "messagepack"), ("longpolling", "messagepack")],
)
async def test_the_caller_answers_with_a_value(
    hub: Hub, transport: Transport, protocol: str
) -> None:
    async with raw_hub(hub.url, transport, protocol=protocol) as raw:
        invocation_id, request = await ask(raw, "Add", 2, 3)
        assert request == Invocation("Add", [2, 3], "s1")
        await raw.send(Completion.with_result("s1", {"sum": 5}))
        assert await raw.receive_completion(invocation_id) == Completion.with_result(
            invocation_id, {"sum": 5}
        )
        _, second = await ask(raw, "Null")
        assert second.invocation_id == "s2"
        await raw.send(Completion.with_result("s2", None))
        counters = (await raw.invoke("GetCounters")).result
        assert counters["clientResults"] == {"requested": 2, "ok": 2, "error": 0, "pending": 0}


async def test_ids_come_from_one_server_wide_counter(hub: Hub) -> None:
    async with raw_hub(hub.url) as first, raw_hub(hub.url, "longpolling") as second:
        for raw, expected in ((first, "s1"), (second, "s2"), (first, "s3")):
            invocation_id, request = await ask(raw, "Get")
            assert request.invocation_id == expected
            await raw.send(Completion.with_result(expected, expected))
            assert (await raw.receive_completion(invocation_id)).result == expected


@pytest.mark.parametrize("detailed", [False, True])
async def test_a_client_error_reaches_the_caller_as_a_hub_exception(
    start_hub: StartHub, detailed: bool
) -> None:
    hub = await start_hub(detailed_errors=detailed)
    async with raw_hub(hub.url) as raw:
        invocation_id, request = await ask(raw, "Refuse")
        await raw.send(Completion.with_error(request.invocation_id or "", "Error: not telling"))
        completion = await raw.receive_completion(invocation_id)
        # HubException: shown whether or not detailed errors are on.
        assert completion.error == f"{ASK_CALLER_FAILED} HubException: Error: not telling"
        counters = (await raw.invoke("GetCounters")).result
        assert counters["clientResults"]["error"] == 1


async def test_a_void_completion_is_an_error_without_a_text(hub: Hub) -> None:
    async with raw_hub(hub.url, protocol="messagepack") as raw:
        invocation_id, request = await ask(raw, "Get")
        await raw.send(Completion.void(request.invocation_id or ""))
        # Only a result is a result: .NET then raises HubException(null), whose
        # message is the default one.
        assert (await raw.receive_completion(invocation_id)).error == (
            f"{ASK_CALLER_FAILED} HubException: Exception of type "
            "'Microsoft.AspNetCore.SignalR.HubException' was thrown."
        )


async def test_client_result_keeps_answering_with_the_error_text(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        invocation_id = raw.new_id()
        await raw.send(Invocation("ClientResult", ["Unhandled"], invocation_id))
        request = await raw.receive_invocation()
        assert request == Invocation("Unhandled", [], "s1")
        await raw.send(Completion.with_error("s1", "Client didn't provide a result."))
        assert (await raw.receive_completion(invocation_id)).result == (
            "Client didn't provide a result."
        )


@pytest.mark.parametrize("detailed", [False, True])
async def test_an_unknown_connection(start_hub: StartHub, detailed: bool) -> None:
    hub = await start_hub(detailed_errors=detailed)
    async with raw_hub(hub.url) as raw:
        completion = await raw.invoke("AskClient", "no-such-id", "Get", [])
        detail = " IOException: Connection 'no-such-id' does not exist."
        assert completion.error == ASK_CLIENT_FAILED + (detail if detailed else "")
        counters = (await raw.invoke("GetCounters")).result
        assert counters["clientResults"]["requested"] == 0


@pytest.mark.parametrize(("detailed", "transport"), [(False, "websockets"), (True, "longpolling")])
async def test_a_connection_that_drops_while_asked(
    start_hub: StartHub, detailed: bool, transport: Transport
) -> None:
    hub = await start_hub(detailed_errors=detailed)
    async with raw_hub(hub.url) as asker:
        async with raw_hub(hub.url, transport) as asked:
            asked_id = await connection_id(asked)
            invocation_id = asker.new_id()
            await asker.send(Invocation("AskClient", [asked_id, "Get", [1]], invocation_id))
            assert await asked.receive_invocation() == Invocation("Get", [1], "s1")
        completion = await asker.receive_completion(invocation_id)
        detail = f" IOException: Connection '{asked_id}' disconnected."
        assert completion.error == ASK_CLIENT_FAILED + (detail if detailed else "")
        assert not hub.app.state.results.is_pending("s1")


async def test_another_client_answers_for_someone_else(hub: Hub) -> None:
    async with raw_hub(hub.url) as asker, raw_hub(hub.url) as asked:
        asked_id = await connection_id(asked)
        await asker.send(Invocation("AskClient", [asked_id, "Add", [1, 2]], "ask"))
        assert await asked.receive_invocation() == Invocation("Add", [1, 2], "s1")
        await asked.send(Completion.with_result("s1", 3))
        assert (await asker.receive_completion("ask")).result == 3


async def test_a_completion_from_the_wrong_connection_ends_that_connection(
    start_hub: StartHub,
) -> None:
    hub = await start_hub(detailed_errors=True)
    async with (
        raw_hub(hub.url) as asker,
        raw_hub(hub.url) as asked,
        RawHub.connect(hub.url) as intruder,
    ):
        asked_id = await connection_id(asked)
        intruder_id = await connection_id(intruder)
        await asker.send(Invocation("AskClient", [asked_id, "Get", []], "ask"))
        assert (await asked.receive_invocation()).invocation_id == "s1"
        await intruder.send(Completion.with_result("s1", "not mine to give"))
        assert await intruder.receive_all() == [
            Close(
                "Connection closed with an error. InvalidOperationException: Connection ID "
                f"'{intruder_id}' is not valid for invocation ID 's1'.",
                allow_reconnect=True,
            )
        ]
        # The call still waits for the right connection.
        await asked.send(Completion.with_result("s1", "mine"))
        assert (await asker.receive_completion("ask")).result == "mine"


async def test_completions_nobody_waits_for_are_ignored(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        invocation_id, _ = await ask(raw, "Get")
        await raw.send(Completion.with_result("s99", "unknown"), Completion.with_error("x", "e"))
        await raw.send(Completion.with_result("s1", "answer"))
        assert (await raw.receive_completion(invocation_id)).result == "answer"
        # A second, late answer to the same id finds nothing and changes nothing.
        await raw.send(Completion.with_result("s1", "late"))
        assert (await raw.invoke("Add", 1, 2)).result == 3
        counters = (await raw.invoke("GetCounters")).result
        assert counters["clientResults"] == {"requested": 1, "ok": 1, "error": 0, "pending": 0}


@pytest.mark.parametrize("transport", ["websockets", "longpolling"])
async def test_waiting_for_a_client_gives_the_invocation_slot_back(
    hub: Hub, transport: Transport
) -> None:
    async with raw_hub(hub.url, transport) as raw:
        invocation_id, request = await ask(raw, "Question")
        # One plain invocation at a time, yet this one runs while AskCaller waits.
        assert (await raw.invoke("Add", 40, 2)).result == 42
        # Several can wait at once, each having given its slot back.
        second_id, second = await ask(raw, "Another")
        assert (request.invocation_id, second.invocation_id) == ("s1", "s2")
        await raw.send(
            Completion.with_result("s2", "second"), Completion.with_result("s1", "first")
        )
        # Both are answered; in which order the two waiting methods finish is the
        # scheduler's business, as on the real server.
        answers: dict[str, object] = {}
        while len(answers) < 2:
            message = await raw.receive()
            if isinstance(message, Completion):
                answers[message.invocation_id] = message.result
        assert answers == {invocation_id: "first", second_id: "second"}


async def test_a_send_can_ask_too(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        # Without an invocation id nobody hears the outcome, but the question goes out.
        await raw.send(Invocation("AskCaller", ["Get", []]))
        request = await raw.receive_invocation()
        await raw.send(Completion.with_result(request.invocation_id or "", 1))
        assert (await raw.invoke("GetCounters")).result["clientResults"]["ok"] == 1


async def test_an_empty_target_is_refused(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        completion = await raw.invoke("AskCaller", "", [])
        assert completion.kind is CompletionKind.ERROR
        assert completion.error == (
            f"{ASK_CALLER_FAILED} HubException: A client method name is required."
        )
