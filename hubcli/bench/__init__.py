"""`hubcli bench`: load and latency for SignalR hubs.

Layers, each importable on its own: `metrics` (pure: the HDR histograms, the
report with crank's metric names, --fail-if conditions, --compare), `load` (trio:
the scenarios on hubcli's client, closed and open loop). The command is
hubcli/cli/bench.py.
"""
