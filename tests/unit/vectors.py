"""Loads tests/data/vectors.json (copied from the official test suites) into messages."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from hubcli.protocol import (
    Ack,
    CancelInvocation,
    Close,
    Completion,
    HubMessage,
    Invocation,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "data" / "vectors.json").read_text(encoding="utf-8")
)


def untag(value: Any) -> Any:
    """Turn the vectors' $float32 / $bin / $timestamp tags into Python values."""
    if isinstance(value, dict):
        if set(value) == {"$float32"}:
            return float(value["$float32"])
        if set(value) == {"$bin"}:
            return base64.b64decode(value["$bin"])
        if set(value) == {"$timestamp"}:
            return dt.datetime.fromisoformat(value["$timestamp"].replace("Z", "+00:00"))
        return {key: untag(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untag(item) for item in value]
    return value


def has_float32(value: Any) -> bool:
    return "$float32" in json.dumps(value)


def to_message(spec: dict[str, Any]) -> HubMessage:
    spec = untag(spec)
    headers = spec.get("headers", {})
    kind = spec["type"]
    if kind == 1:
        return Invocation(
            spec["target"],
            spec["arguments"],
            spec.get("invocationId"),
            spec.get("streamIds", []),
            headers,
        )
    if kind == 2:
        return StreamItem(spec["invocationId"], spec["item"], headers)
    if kind == 3:
        if "error" in spec:
            return Completion.with_error(spec["invocationId"], spec["error"], headers)
        if "result" in spec:
            return Completion.with_result(spec["invocationId"], spec["result"], headers)
        return Completion.void(spec["invocationId"], headers)
    if kind == 4:
        return StreamInvocation(
            spec["invocationId"],
            spec["target"],
            spec["arguments"],
            spec.get("streamIds", []),
            headers,
        )
    if kind == 5:
        return CancelInvocation(spec["invocationId"], headers)
    if kind == 6:
        return Ping()
    if kind == 7:
        return Close(spec.get("error"), spec.get("allowReconnect", False))
    if kind == 8:
        return Ack(spec["sequenceId"])
    if kind == 9:
        return Sequence(spec["sequenceId"])
    raise AssertionError(f"unknown type in vector: {kind}")


def by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in entries}
