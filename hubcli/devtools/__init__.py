"""Tools for hubcli's developers, not shipped in the wheel: `python -m hubcli.devtools.docs`."""
