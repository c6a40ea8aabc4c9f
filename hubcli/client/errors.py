"""The client's errors: hubcli's one exception tree (hubcli.errors), named here for
the client's modules. The names are listed once, in hubcli.errors."""

from __future__ import annotations

from hubcli import errors
from hubcli.errors import *  # noqa: F403  (re-exports the tree, listed in hubcli.errors)

__all__: list[str] = []
__all__ += errors.__all__
