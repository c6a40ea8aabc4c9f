"""The protocol layer's errors: members of hubcli's one exception tree.

They are defined in hubcli.errors (which imports nothing, so the core stays
sans-IO) and named here for the core's own modules and its users.
"""

from __future__ import annotations

from hubcli.errors import (
    HandshakeError,
    HubcliError,
    MessageTooLargeError,
    NegotiateError,
    ProtocolError,
    UnencodableValueError,
)

# The root's earlier spelling.
HubCliError = HubcliError

__all__ = [
    "HandshakeError",
    "HubCliError",
    "HubcliError",
    "MessageTooLargeError",
    "NegotiateError",
    "ProtocolError",
    "UnencodableValueError",
]
