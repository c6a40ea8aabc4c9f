"""Exceptions a hub method raises, named as their .NET counterparts, and the texts.

The real server shows an exception's type and message to the client only for a
HubException, or for any exception when detailed errors are enabled; the texts here
are built the way its ErrorMessageHelper builds them.
"""

from __future__ import annotations


class HubMethodError(Exception):
    """An error with the .NET exception type name the real server would report."""

    dotnet_type = "Exception"


class HubException(HubMethodError):
    """Its message always reaches the client."""

    dotnet_type = "HubException"


class InvalidOperationException(HubMethodError):
    dotnet_type = "InvalidOperationException"


class InvalidDataException(HubMethodError):
    dotnet_type = "InvalidDataException"


class OperationCanceledException(HubMethodError):
    dotnet_type = "OperationCanceledException"


class IOException(HubMethodError):
    """What a client result ends with when its connection is unknown or drops."""

    dotnet_type = "IOException"


class ArgumentNullException(HubMethodError):
    """A null where .NET's ArgumentNullException.ThrowIfNull stands guard."""

    dotnet_type = "ArgumentNullException"

    def __init__(self, parameter: str) -> None:
        super().__init__(f"Value cannot be null. (Parameter '{parameter}')")


def exception_type_name(error: BaseException) -> str:
    if isinstance(error, HubMethodError):
        return error.dotnet_type
    return type(error).__name__


def build_error_message(message: str, error: BaseException, detailed: bool) -> str:
    if isinstance(error, HubException) or detailed:
        return f"{message} {exception_type_name(error)}: {error}"
    return message


# Completion errors, word for word as the real server writes them.
def binding_failure(target: str) -> str:
    return f"Failed to invoke '{target}' due to an error on the server."


def invocation_failure(target: str) -> str:
    return f"An unexpected error occurred invoking '{target}' on the server."


STREAMING_FAILURE = "An error occurred on the server while streaming results."
CONNECTION_CLOSED_WITH_ERROR = "Connection closed with an error."
CLIENT_TIMEOUT = "Client hasn't sent a message/ping within the configured ClientTimeoutInterval."
METHOD_DOES_NOT_EXIST = "Method does not exist."
ARGUMENT_TYPES = (
    "Error binding arguments. Make sure that the types of the provided values match "
    "the types of the hub method being invoked."
)


def argument_count(provided: int, expected: int) -> str:
    return f"Invocation provides {provided} argument(s) but target expects {expected}."


def streaming_with_invoke(target: str) -> str:
    return (
        f"The client attempted to invoke the streaming '{target}' method with a "
        "non-streaming invocation."
    )


def invoke_with_streaming(target: str) -> str:
    return (
        f"The client attempted to invoke the non-streaming '{target}' method with a "
        "streaming invocation."
    )


def stream_count(sent: int, expected: int) -> str:
    return f"Client sent {sent} stream(s), Hub method expects {expected}."


def not_a_stream(method_name: str) -> str:
    return (
        f"The value returned by the streaming method '{method_name}' is not a "
        "ChannelReader<> or IAsyncEnumerable<>."
    )


def invocation_id_in_use(invocation_id: str) -> str:
    return f"Invocation ID '{invocation_id}' is already in use."


def message_too_large(limit: int) -> str:
    return (
        f"The maximum message size of {limit}B was exceeded. "
        "The message size can be configured in AddHubOptions."
    )
