"""Hub method descriptors and argument binding with the real server's rules.

A method is declared by a signature string such as
`Counter(count: int, delayMs: int) -> stream<int>`; the same string documents it in
`--list-methods`. Binding checks the argument count and, where a parameter has a
type, the value's type, as System.Text.Json or MessagePack-CSharp would when
deserializing into the .NET parameter type.
"""

from __future__ import annotations

import dis
import enum
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from . import errors


class ArgType(enum.Enum):
    INT = "int"
    NUMBER = "number"
    BOOL = "bool"
    STRING = "string"
    OBJECT = "object"
    ANY = "any"
    INT_ARRAY = "int[]"
    STRING_ARRAY = "string[]"
    ANY_ARRAY = "any[]"


_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def matches(value: Any, arg_type: ArgType) -> bool:
    """Whether a decoded value deserializes into a parameter of this type."""
    if arg_type is ArgType.ANY:
        return True
    if arg_type is ArgType.INT:
        return _is_int(value) and _INT32_MIN <= value <= _INT32_MAX
    if arg_type is ArgType.NUMBER:
        return _is_int(value) or isinstance(value, float)
    if arg_type is ArgType.BOOL:
        return isinstance(value, bool)
    # Reference types: null binds to all of them.
    if value is None:
        return True
    if arg_type is ArgType.STRING:
        return isinstance(value, str)
    if arg_type is ArgType.OBJECT:
        return isinstance(value, dict)
    if arg_type is ArgType.INT_ARRAY:
        return isinstance(value, list) and all(matches(v, ArgType.INT) for v in value)
    if arg_type is ArgType.ANY_ARRAY:
        return isinstance(value, list)
    return isinstance(value, list) and all(v is None or isinstance(v, str) for v in value)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ArgType


@dataclass(frozen=True, slots=True)
class HubMethod:
    name: str
    signature: str
    doc: str
    func: Callable[..., Any]
    params: tuple[Param, ...]
    # Client-to-server stream parameters (item types), passed after the others.
    uploads: tuple[ArgType, ...]
    streaming: bool
    # "-> empty": a Completion without a result; "-> void" answers null like .NET.
    empty_completion: bool
    # A coroutine function whose body never awaits: a call runs to its end at once.
    never_suspends: bool = False

    def bind(self, arguments: list[Any]) -> list[Any]:
        """The arguments, or InvalidDataException with the server's detail text."""
        if len(arguments) != len(self.params):
            raise errors.InvalidDataException(
                errors.argument_count(len(arguments), len(self.params))
            )
        for value, param in zip(arguments, self.params, strict=True):
            if not matches(value, param.type):
                raise errors.InvalidDataException(errors.ARGUMENT_TYPES)
        return arguments


# What a coroutine's own code suspends with (await, async for, async with all
# compile to these); a body without any cannot give the scheduler control.
_SUSPENDING_OPS = frozenset(
    {"YIELD_VALUE", "YIELD_FROM", "SEND", "GET_AWAITABLE", "GET_AITER", "GET_ANEXT"}
    | {"BEFORE_ASYNC_WITH"}
)


def never_suspends(func: Callable[..., Any]) -> bool:
    """Whether `func` is a coroutine function whose calls always complete without
    suspending: no await of any kind in its body. Anything else (a wrapper, an
    async generator, a callable object) counts as one that may suspend."""
    if not inspect.iscoroutinefunction(func) or not inspect.isfunction(func):
        return False
    return not any(op.opname in _SUSPENDING_OPS for op in dis.get_instructions(func))


_SIGNATURE = re.compile(r"^\s*(\w+)\((.*)\)\s*->\s*(.+?)\s*$")
_STREAM = re.compile(r"^stream<(.+)>$")


def _arg_type(text: str) -> ArgType:
    return ArgType(text.strip())


def parse_signature(
    signature: str,
) -> tuple[str, tuple[Param, ...], tuple[ArgType, ...], bool, bool]:
    match = _SIGNATURE.match(signature)
    if match is None:
        raise ValueError(f"bad hub method signature: {signature!r}")
    name, params_text, returns = match.groups()
    params: list[Param] = []
    uploads: list[ArgType] = []
    for part in filter(None, (p.strip() for p in params_text.split(","))):
        param_name, _, type_text = part.partition(":")
        stream = _STREAM.match(type_text.strip())
        if stream is not None:
            uploads.append(_arg_type(stream.group(1)))
        else:
            params.append(Param(param_name.strip(), _arg_type(type_text)))
    streaming = _STREAM.match(returns) is not None
    return name, tuple(params), tuple(uploads), streaming, returns == "empty"


F = TypeVar("F", bound=Callable[..., Any])

HUB_METHOD_ATTRIBUTE = "__hub_method__"


def hub_method(signature: str) -> Callable[[F], F]:
    """Mark a function as a hub method; its docstring's first line documents it."""

    def mark(func: F) -> F:
        name, params, uploads, streaming, empty = parse_signature(signature)
        doc = (func.__doc__ or "").strip().splitlines()
        method = HubMethod(
            name=name,
            signature=signature.strip(),
            doc=" ".join(line.strip() for line in doc).strip(),
            func=func,
            params=params,
            uploads=uploads,
            streaming=streaming,
            empty_completion=empty,
            never_suspends=not streaming and never_suspends(func),
        )
        setattr(func, HUB_METHOD_ATTRIBUTE, method)
        return func

    return mark


def collect(*namespaces: dict[str, Any]) -> dict[str, HubMethod]:
    """Every marked function of the given module namespaces, by lower-cased name."""
    methods: dict[str, HubMethod] = {}
    for namespace in namespaces:
        for value in namespace.values():
            method = getattr(value, HUB_METHOD_ATTRIBUTE, None)
            if isinstance(method, HubMethod):
                key = method.name.lower()
                if key in methods:
                    raise ValueError(f"Duplicate definitions of '{method.name}'.")
                methods[key] = method
    return methods
