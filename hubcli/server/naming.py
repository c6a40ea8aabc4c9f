"""Property names of typed objects, as ASP.NET Core's hub protocols write them.

The JSON protocol serializes every object of a declared .NET type with one naming
policy (JsonHubProtocolOptions.PayloadSerializerOptions.PropertyNamingPolicy):
camelCase by default, the members' own names (PascalCase) when an app sets none,
as the official functional tests' app does. Dictionaries keep their keys
(DictionaryKeyPolicy is null), and reading is case-insensitive. MessagePack
always writes the members' own names.

Here a typed object is a `Record`: a dict whose keys are the .NET member names.
`apply` renames the keys of every Record in a value for one policy; `bind` reads
a client's object into a Record case-insensitively, as System.Text.Json binds a
typed parameter (unknown keys dropped, missing members null), so what goes back
out follows the policy whatever casing the client used. The hub's own
diagnostics (GetConnectionInfo, GetCounters, ...) answer plain dicts on purpose:
dictionaries in .NET terms, so their keys read the same in both protocols.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any


class Naming(enum.StrEnum):
    CAMEL = "camel"
    PASCAL = "pascal"


class Record(dict[str, Any]):
    """A typed object: keys are its .NET member names (PascalCase)."""


def camel_case(name: str) -> str:
    """JsonNamingPolicy.CamelCase: the leading capitals lowered, except the last of
    a run that a lower-case letter follows ("ByteArray" -> "byteArray", "ID" ->
    "id", "URLValue" -> "urlValue")."""
    if not name or not name[0].isupper():
        return name
    characters = list(name)
    for index, character in enumerate(characters):
        if index == 1 and not character.isupper():
            break
        following = characters[index + 1] if index + 1 < len(characters) else ""
        if index > 0 and following and not following.isupper():
            # The last capital before a lower-case letter starts the next word
            # (a space counts as a word's end, as .NET's algorithm has it).
            if following == " ":
                characters[index] = character.lower()
            break
        characters[index] = character.lower()
    return "".join(characters)


def member_name(name: str, naming: Naming) -> str:
    return camel_case(name) if naming is Naming.CAMEL else name


def apply(value: Any, naming: Naming) -> Any:
    """`value` with every Record's keys written as `naming` says (plain dicts,
    dictionaries in .NET terms, keep theirs)."""
    if isinstance(value, Record):
        return {member_name(key, naming): apply(item, naming) for key, item in value.items()}
    if isinstance(value, dict):
        return {key: apply(item, naming) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [apply(item, naming) for item in value]
    return value


def bind(value: Any, members: Sequence[str]) -> Record | None:
    """A client's object read into a Record of `members`, matching names without
    regard to case; None for null (anything else is the binder's to refuse)."""
    if not isinstance(value, dict):
        return None
    by_lower = {member.lower(): member for member in members}
    record = Record((member, None) for member in members)
    for key, item in value.items():
        member = by_lower.get(str(key).lower())
        if member is not None:
            record[member] = item
    return record
