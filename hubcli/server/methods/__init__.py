"""The hub's methods: the seed samples, the official functional-test hubs, the
chat samples' sends and groups, pushes and client results, what hubcli's own
tests need, the chaos hub's faults and the benchmark hub's surface.
`build_methods()` collects them into a fresh table."""

from __future__ import annotations

from hubcli.server.binding import HubMethod, collect

from . import benchmark, chaos, chat, functional, hubstate, pushes, samples, testing


def build_methods() -> dict[str, HubMethod]:
    """Every hub method by lower-cased name (lookup is case-insensitive, as in .NET)."""
    return collect(
        vars(samples),
        vars(functional),
        vars(chat),
        vars(pushes),
        vars(hubstate),
        vars(testing),
        vars(chaos),
        vars(benchmark),
    )


def describe_methods() -> str:
    """One line per method: its signature and what it does, for --list-methods."""
    methods = sorted(build_methods().values(), key=lambda m: m.name.lower())
    width = max(len(m.signature) for m in methods)
    return "\n".join(f"{m.signature:<{width}}  {m.doc}" for m in methods)
